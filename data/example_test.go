package data_test

import (
	"bytes"
	"fmt"
	"log"
	"math/rand/v2"
	"strings"

	"github.com/gradflow/gradflow/data"
)

func ExampleDigits() {
	ds, err := data.Digits[float32]()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d examples, %d features, %d classes\n", ds.Len(), ds.Dim(), ds.NumClasses)
	fmt.Println("class counts:", ds.ClassCounts())
	// Output:
	// 1797 examples, 64 features, 10 classes
	// class counts: [178 182 177 183 181 182 181 179 174 180]
}

func ExampleLoader() {
	ds, err := data.Digits[float32]()
	if err != nil {
		log.Fatal(err)
	}
	// Hold out a stratified fifth for validation, standardize with the
	// training statistics only, then iterate over shuffled batches.
	train, val, _, err := ds.Split(rand.New(rand.NewPCG(1, 2)), data.SplitSpec{Validation: 0.2, Stratify: true})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := data.FitScaler(data.Standardize, train, val); err != nil {
		log.Fatal(err)
	}
	loader, err := data.NewLoader(train, data.LoaderConfig{BatchSize: 128, Shuffle: true, Seed: 42})
	if err != nil {
		log.Fatal(err)
	}
	for epoch := range 2 {
		batches, examples := 0, 0
		for loader.Next() {
			b := loader.Batch()
			batches++
			examples += b.Size()
			// A training step would use b.X ([b, 64]) and b.Labels here.
		}
		fmt.Printf("epoch %d: %d batches, %d examples\n", epoch, batches, examples)
	}
	// The position to store in a checkpoint:
	fmt.Printf("%+v\n", loader.State())
	// Output:
	// epoch 0: 12 batches, 1438 examples
	// epoch 1: 12 batches, 1438 examples
	// {Seed:42 Epoch:2 Offset:0 Rows:1438 BatchSize:128 Shuffle:true DropLast:false Order:}
}

func ExampleReadIDX() {
	// Two 2x3 uint8 images in IDX form, as in the MNIST files (which are
	// also gzipped; ReadIDX detects that by itself).
	var file bytes.Buffer
	err := data.WriteIDX(&file, &data.IDX{
		Type: data.IDXUint8,
		Dims: []int{2, 2, 3},
		Raw:  []byte{0, 64, 128, 255, 1, 2, 10, 20, 30, 40, 50, 60},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", file.Bytes()[:16])

	a, err := data.ReadIDX(&file)
	if err != nil {
		log.Fatal(err)
	}
	x, err := data.IDXTensor[float32](a)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Type, a.Dims, x.Data()[:6])
	// Output:
	// 00 00 08 03 00 00 00 02 00 00 00 02 00 00 00 03
	// uint8 [2 2 3] [0 64 128 255 1 2]
}

func ExampleReadCSV() {
	text := `sepal_length,sepal_width,species
5.1,3.5,setosa
7.0,3.2,versicolor
6.3,3.3,virginica
4.9,,setosa
`
	_, err := data.ReadCSV[float64](strings.NewReader(text), data.CSVOptions{LabelName: "species"})
	fmt.Println(err)

	ds, err := data.ReadCSV[float64](strings.NewReader(text[:strings.LastIndex(text, "4.9")]), data.CSVOptions{LabelName: "species"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ds.FeatureNames, ds.Classes, ds.Labels)
	// Output:
	// data: csv line 5: column 2 ("sepal_width"): missing value: ""
	// [sepal_length sepal_width] [setosa versicolor virginica] [0 1 2]
}

func ExampleSphere() {
	rng := rand.New(rand.NewPCG(7, 7))
	x, err := data.Sphere[float64](rng, 1000, 3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(x.Shape())
	// Output:
	// [1000 3]
}
