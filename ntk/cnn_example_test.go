package ntk_test

import (
	"fmt"
	"math"

	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/tensor"
)

// A CNN in the NTK parameterization, its infinite-width limit, and the
// distance of its empirical NTK from the analytic one on two images.
func ExampleConvArchOf() {
	net, err := ntk.NewNTKNet[float64]("conv64k3p1-res(relu-conv64k3p1)-relu-flatten-fc1", []int{1, 6, 6}, math.Sqrt2, 0.1, 1)
	if err != nil {
		panic(err)
	}
	arch, err := ntk.ConvArchOf(net)
	if err != nil {
		panic(err)
	}
	fmt.Println(arch.Layers[0].Op, arch.Layers[1].Op, arch.Layers[1].Branch[0].Act, arch.Layers[1].Branch[1].Op, arch.Layers[2].Act, arch.Layers[3].Op, arch.Layers[4].Op)

	x := tensor.New[float64](2, 36)
	for i := range x.Data() {
		x.Data()[i] = math.Sin(float64(i))
	}
	emp, err := ntk.Empirical[float64](net, x, nil, ntk.Options{})
	if err != nil {
		panic(err)
	}
	g, err := arch.Gram(tensor.ToDense(x), [3]int{1, 6, 6})
	if err != nil {
		panic(err)
	}
	fmt.Printf("Theta(x0, x1): width 64 %.2f, infinite width %.2f\n", emp.At(0, 1), g.NTK.At(0, 1))
	// Output:
	// Conv Residual relu Conv relu Flatten Dense
	// Theta(x0, x1): width 64 0.46, infinite width 0.55
}
