package nn_test

import (
	"fmt"

	"github.com/gradflow/gradflow/nn"
)

// A state dict saved by PyTorch with
// safetensors.torch.save_file(model.state_dict(), path), for
// model = torch.nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 6), GELU(),
// Linear(6, 3)): the widths come from the tensors, the activations from
// the caller, since the file cannot record them.
func ExampleLoadTorchFile() {
	m, err := nn.LoadTorchFile[float64]("../testdata/torch/torch_plain_mlp.safetensors",
		nn.TorchOptions{Activations: []nn.Activation{nn.ReLU, nn.GELU}})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Config.Dims, m.Config.LayerActivation(0), m.Config.LayerActivation(1), len(m.Params()), m.Params()[4].Name)
	// Output: [4 8 6 3] relu gelu 6 4.weight
}
