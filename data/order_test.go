package data

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
)

// TestLoaderOrderDefaults: Order "" keeps the behaviour Shuffle selects bit
// for bit, and Order shuffle / cyclic are the same orders spelled out.
func TestLoaderOrderDefaults(t *testing.T) {
	ds := rowDataset(23, 3)
	for _, c := range []struct{ old, named LoaderConfig }{
		{LoaderConfig{BatchSize: 5, Shuffle: true, Seed: 9}, LoaderConfig{BatchSize: 5, Order: OrderShuffle, Seed: 9}},
		{LoaderConfig{BatchSize: 5, Seed: 9}, LoaderConfig{BatchSize: 5, Order: OrderCyclic, Seed: 9}},
		{LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 1, DropLast: true}, LoaderConfig{BatchSize: 4, Order: OrderShuffle, Shuffle: true, Seed: 1, DropLast: true}},
	} {
		a, err := NewLoader(ds, c.old)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewLoader(ds, c.named)
		if err != nil {
			t.Fatal(err)
		}
		for e := range 3 {
			ra, sa := epochRows(t, a, ds)
			rb, sb := epochRows(t, b, ds)
			if !slices.Equal(ra, rb) || !slices.Equal(sa, sb) {
				t.Errorf("%+v vs %+v epoch %d: rows %v and %v", c.old, c.named, e, ra, rb)
			}
		}
		if a.State() != b.State() {
			t.Errorf("states differ: %+v and %+v", a.State(), b.State())
		}
	}
	for _, bad := range []LoaderConfig{
		{BatchSize: 2, Order: OrderCyclic, Shuffle: true},
		{BatchSize: 2, Order: "random"},
	} {
		if _, err := NewLoader(ds, bad); err == nil {
			t.Errorf("NewLoader accepted %+v", bad)
		}
	}
}

// TestLoaderReplacement: with OrderReplacement every batch is full (even
// with BatchSize above the dataset size), an epoch has BatchesPerEpoch
// batches, the draws are seeded, differ between epochs and resume from a
// saved state; and every (position, row) pair is about equally frequent:
// over 20000 epochs of 2 batches of 3 rows from 5 rows, each of the 6x5
// cells expects 20000/5 = 4000 hits with binomial sd sqrt(4000*0.8) = 57,
// and the test allows 5 sd; the chance that two draws in a batch coincide,
// 1 - (4/5)(3/5) = 0.52 for 3 draws among 5, is checked to 3 points (the
// binomial sd over 40000 batches is 0.0025).
func TestLoaderReplacement(t *testing.T) {
	ds := rowDataset(5, 2)
	cfg := LoaderConfig{BatchSize: 3, Order: OrderReplacement, Seed: 4}
	l, err := NewLoader(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.BatchesPerEpoch() != 2 {
		t.Fatalf("BatchesPerEpoch %d, want ceil(5/3) = 2", l.BatchesPerEpoch())
	}
	const epochs = 20000
	var counts [6][5]int
	repeats, batches := 0, 0
	var first []int
	for e := range epochs {
		rows, sizes := epochRows(t, l, ds)
		if !slices.Equal(sizes, []int{3, 3}) {
			t.Fatalf("epoch %d: batch sizes %v, want [3 3]", e, sizes)
		}
		for i, r := range rows {
			counts[i][r]++
		}
		for b := range 2 {
			s := rows[3*b : 3*b+3]
			batches++
			if s[0] == s[1] || s[0] == s[2] || s[1] == s[2] {
				repeats++
			}
		}
		if e == 0 {
			first = rows
		}
	}
	for i := range counts {
		for r, c := range counts[i] {
			if math.Abs(float64(c)-4000) > 5*math.Sqrt(4000*0.8) {
				t.Errorf("position %d drew row %d %d times, want 4000 +- 283", i, r, c)
			}
		}
	}
	if f := float64(repeats) / float64(batches); math.Abs(f-0.52) > 0.03 {
		t.Errorf("fraction of batches with a repeated row %.3f, want 0.52 (sampling with replacement)", f)
	}

	// Same seed, same draws; resuming from a JSON state repeats them.
	again, err := NewLoader(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := epochRows(t, again, ds); !slices.Equal(rows, first) {
		t.Errorf("same seed: epoch 0 rows %v, first run %v", rows, first)
	}
	again.Next()
	blob, err := json.Marshal(again.State())
	if err != nil {
		t.Fatal(err)
	}
	var st LoaderState
	if err := json.Unmarshal(blob, &st); err != nil {
		t.Fatal(err)
	}
	if st.Order != OrderReplacement || st.Offset != 3 {
		t.Fatalf("state %s, want order replacement at offset 3", blob)
	}
	resumed, err := NewLoader(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Restore(st); err != nil {
		t.Fatal(err)
	}
	a, _ := epochRows(t, again, ds)
	b, _ := epochRows(t, resumed, ds)
	if !slices.Equal(a, b) || len(a) != 3 {
		t.Errorf("resumed rows %v, reference %v", b, a)
	}
	// A shuffled loader's state is refused by a sampling one, and back.
	shuf, err := NewLoader(ds, LoaderConfig{BatchSize: 3, Shuffle: true, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Restore(shuf.State()); err == nil {
		t.Error("a replacement loader restored a shuffled loader's state")
	}
	if err := shuf.Restore(st); err == nil {
		t.Error("a shuffled loader restored a replacement loader's state")
	}

	// A batch larger than the dataset; DropLast rounds the epoch down.
	big, err := NewLoader(ds, LoaderConfig{BatchSize: 8, Order: OrderReplacement})
	if err != nil {
		t.Fatal(err)
	}
	if _, sizes := epochRows(t, big, ds); !slices.Equal(sizes, []int{8}) {
		t.Errorf("batch 8 over 5 rows: sizes %v, want [8]", sizes)
	}
	drop, err := NewLoader(ds, LoaderConfig{BatchSize: 2, Order: OrderReplacement, DropLast: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, sizes := epochRows(t, drop, ds); !slices.Equal(sizes, []int{2, 2}) {
		t.Errorf("batch 2 over 5 rows with DropLast: sizes %v, want [2 2]", sizes)
	}
}
