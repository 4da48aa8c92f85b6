// Package sweep runs width-scaling experiments: grids over width x
// parameterization (standard, NTK, mean field, muP; package nn) x seed x
// learning rate x optimizer, their sharded and resumable execution, the
// muP coordinate check, and log-log slope fits, tables and figures.
//
// # Runs and metrics
//
// A Config (Go value or JSON file, LoadConfig) expands to RunSpecs in a
// canonical order (Config.Runs). Each run trains an MLP [d, n x Depth, k]
// (NewModel), or the net of Config.Net (NewNetModel), on the sweep's dataset for Steps steps of SGD or Adam with the
// parameterization's per-layer learning-rate scales, and writes one JSON line
// per record (Record): the training loss (and accuracy), the loss (and
// accuracy) on an optional held-out set (Dataset.TestN), the relative weight
// change ||theta_t - theta_0|| / ||theta_0||, the kernel drift ||Theta_t -
// Theta_0||_F / ||Theta_0||_F of the empirical NTK (Jacot et al. 2018), the
// mean particle displacement of the first hidden layer's neurons
// (Mei-Montanari-Nguyen 2018; Chizat-Bach 2018), and the coordinate sizes
// mean |h_l| and mean |h_l(t) - h_l(0)| of every layer (Yang and Hu 2021).
// Under NTK scaling the weight change falls like n^-1/2 (Lee et al. 2019);
// under mean field and muP the particle displacement is Theta(1).
//
// # Which kernel drifts
//
// The kernel is the tangent kernel of the trainable parameters with each
// parameter tensor p weighted by its SGD learning-rate multiplier s_p
// under the run's parameterization (nn.Param.LRScale; ntk.LRWeights):
//
//	Theta(x, x') = sum_p s_p J_p(x) J_p(x')^T,   J_p = df/dtheta_p,
//
// traced over the outputs, on the first KernelPoints training inputs. It is
// the kernel that drives the outputs under the per-layer learning rates:
// one SGD step moves f by -eta Theta grad_f L to first order (Yang and Hu
// 2021, Tensor Programs IV; the LRScale of package meanfield is the same
// argument). Under SP and NTK scaling every s_p is 1 and Theta = J J^T.
// Under mean field and muP the plain J J^T of the hidden and readout
// weights is O(1/n), while the output bias adds a constant 1 that never
// moves; its relative drift was that O(1/n) over the constant, a slope of
// -1 unrelated to feature learning. With the multipliers (n for those
// weights, 1 for the output bias) every block is O(1) and the drift is the
// Theta(1) of mean-field theory: with the default configuration
// ("train sweep" without -config) the slopes are -0.007 [-0.045, +0.030]
// under mean field, -0.021 [-0.062, +0.020] under muP, both with a drift
// of about 0.2 at every width, and -0.95 [-1.33, -0.57] under NTK scaling
// (Lee et al. 2019 bound it by -1/2; Dyer and Gur-Ari 2019 explain -1).
// Runs trained with Adam use the SGD multipliers too: Adam's outputs do
// not follow a kernel flow, and its multipliers, sized for normalized
// steps, would again leave the output bias to dominate under muP.
//
// # Execution
//
// Run executes the runs of one Shard with a bounded number of workers. Every
// run is seeded by its own RunSpec (PCG(seed, width)) and GEMMs are bit-identical
// for any GOMAXPROCS, so results do not depend on the worker count or on the
// sharding. A result file is written under a temporary name and renamed when
// complete (its last line is {"done": true}); Run skips complete runs, so
// re-running after an interruption resumes. Run i of the canonical order
// belongs to shard i mod Count (Shard.Runs lists a shard's runs). Merge
// copies shard outputs into one directory, which is then byte-identical to a
// single-machine run (tested). ExampleConfig is a small sweep to start from;
// ParseParameterizations reads parameterizations as a command line names
// them (sp and mf for standard and meanfield).
//
// The command line is cmd/train's "train sweep" (install it once with
// go install github.com/gradflow/gradflow/cmd/train@latest; "train sweep
// init sweep.json" writes an example configuration). A Slurm job array (one
// task per shard; --shard-count makes it read SLURM_ARRAY_TASK_ID,
// SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT through ShardFromJobArray,
// which, unlike ShardFromEnv, refuses to run the whole sweep outside a job
// array):
//
//	#!/bin/bash
//	#SBATCH --job-name=widthsweep
//	#SBATCH --array=0-15
//	#SBATCH --cpus-per-task=8
//	#SBATCH --time=04:00:00
//	train sweep --config sweep.json --out $SCRATCH/sweep/shard-$SLURM_ARRAY_TASK_ID \
//	    --shard-count $SLURM_ARRAY_TASK_COUNT --workers $SLURM_CPUS_PER_TASK
//
// and, once every task has finished (for example in a job submitted with
// --dependency=afterok:<array job id>), the merge, which prints the slope
// table and writes the figures into $SCRATCH/sweep/all/figures:
//
//	train sweep merge --out $SCRATCH/sweep/all $SCRATCH/sweep/shard-*
//
// (Shards may also share one output directory on a shared file system; then
// "train sweep analyze DIR" prints the table.) A task that is requeued or
// resubmitted resumes: its finished runs are skipped.
//
// A Kubernetes Indexed Job (JOB_COMPLETION_INDEX is set in each pod; the
// shard count is the Job's completions, passed explicitly with --shard-count;
// the image holds the train binary):
//
//	apiVersion: batch/v1
//	kind: Job
//	metadata:
//	  name: widthsweep
//	spec:
//	  completionMode: Indexed
//	  completions: 8
//	  parallelism: 8
//	  backoffLimit: 4
//	  template:
//	    spec:
//	      restartPolicy: OnFailure
//	      containers:
//	      - name: sweep
//	        image: ghcr.io/example/gradflow:latest
//	        command: ["train", "sweep", "--config", "/cfg/sweep.json", "--out", "/results", "--shard-count", "8", "--workers", "4"]
//	        resources: {requests: {cpu: "4", memory: 4Gi}}
//	        volumeMounts:
//	        - {name: cfg, mountPath: /cfg}
//	        - {name: results, mountPath: /results}
//	      volumes:
//	      - name: cfg
//	        configMap: {name: widthsweep-config}
//	      - name: results
//	        persistentVolumeClaim: {claimName: widthsweep-results}
//
// A restarted pod resumes: finished runs in /results are skipped. The pods
// share /results, so when the Job has completed, "train sweep analyze
// /results" (or "train sweep merge" of per-pod directories) reports it.
//
// # Analysis
//
// Analyze loads a sweep; Report.Fit fits log v = s log n + c for one metric
// (Metric names: loss, accuracy, test_loss, test_accuracy, loss_gap,
// weight_change, kernel_drift, displacement, coord[l], coord_delta[l], and
// the GeometryMeasures) separately for each seed, and reports the mean
// slope with a 95% Student-t confidence interval over seeds (mean +-
// t_{0.975,S-1} sd/sqrt(S)). Report.Fits fits every group and metric of
// Report.Metrics; WriteTables prints them, WriteFits writes them as JSON lines
// (a Fit's JSON form is one flat object; its NaNs are null), WriteFigures
// draws them (PNG and SVG, through internal/figure), and Save leaves
// slopes.jsonl and the figures in the sweep's directory. LogLogSlope is the
// power-law fit behind every slope, shared with package meanfield.
//
// # Coordinate check
//
// CoordCheck follows the mup library's get_coord_data: train for 3 steps on
// one fixed batch and record mean |h_l| of each layer's output at t = 1 (the
// initialization), 2, 3 for several widths and seeds. In muP the curves are
// flat in the width (tested: ratio within 1/1.2..1.2 for widths 4x apart,
// hidden layers t = 1..3 and the change of the output at t = 2, 3); in SP with
// SGD the hidden and output changes grow with the width (Yang and Hu 2021:
// like n^1/2 and n) and the network blows up. CoordResult.Slopes gives the
// verdict, the log-log slope of every layer's mean |h| and of its change at
// the last step (WriteSlopes prints them after WriteTable); WriteJSONL writes
// the cells (a blown-up cell's infinite values as null), and Save writes
// coordcheck.jsonl and the figures.
//
// # Convolutional nets
//
// Config.Net and CoordConfig.Net replace the MLP by an nn.Net: a spec
// template whose {w} and {Kw} placeholders the width fills
// (nn.NetSpecWidth), so that the width axis scales channels, e.g.
// CNNCoordSpec, conv{w}k3p1-relu-conv{w}k3p1-relu-maxpool2-flatten-fc10,
// on the digits' [1 8 8] images. NewNetModel builds it under the run's
// parameterization (nn.NewNetWith: fan_in of a conv = in_channels/groups x
// kernel area, the readout's multiplier 1/fan_in under muP, mean field for
// two weight layers only). The layers watched are the top-level modules
// with parameters (a conv or fc layer after the ReLU it fuses, a
// normalization layer, a residual block) and the output, named by their
// spec tokens (CoordRow.Name, CoordResult.Layers); measuring restores the
// BatchNorm buffers, so the training is that of a run without it. The
// displacement is that of the first weight layer's channels (incoming
// weights and bias, and the outgoing weights of the next weight layer when
// it reads those channels directly), and the kernel is the net's empirical
// NTK weighted by its SGD multipliers (nn.NetConfig.LRScales). On the mup
// paper's check of CNNCoordSpec with Adam (TestCoordCheckCNN, widths
// 8..64) the change of the hidden conv and of the output after one step
// has slopes -0.012 and -0.007 under muP and +0.87 and +1.14 under SP.
// CNNExampleConfig ("train sweep init -cnn") is a sweep of that CNN.
//
// # Geometry and generalization
//
// A configuration with a "geometry" block (GeometryConfig;
// GeometryExampleConfig, written by "train sweep init -geometry", is a
// digits sweep over 3 widths x 3 learning rates x 3 batch sizes x 2 seeds)
// puts the geometry of training side by side with generalization, in the
// spirit of Jiang et al. (2020). "batch_sizes" makes the minibatch size a
// grid axis (RunSpec.BatchSize, the "-b<B>" suffix of a run ID, a "b=<B>"
// group of the slope table); the block needs a held-out set (test_n > 0).
// Every run measures, on a probe subset of Probe training examples drawn
// once from Seed (the same examples in every run) and with L the run's
// loss on it (cross-entropy or half MSE, as trained) in the raw parameters
// theta (no per-layer learning-rate weighting):
//
//   - along the path, at steps 0, Every, 2 Every, ... and the last step
//     (through landscape.Probe, a training callback that changes neither
//     the parameters nor the gradients, so the records are those of the
//     run without the block): L and |grad L|^2;
//   - pl_min = min over those points of the PL ratio |grad L|^2 / (2 (L -
//     L*)) (landscape.PLRatio; L* = FStar, default 0, the infimum of
//     cross-entropy; points with L <= L* skipped), the empirical PL
//     constant, and pl_final, the ratio at the last step;
//   - loj_theta: the Lojasiewicz exponent theta of |grad L| >= c (L -
//     L*)^theta fitted to those points (landscape.FitLojasiewicz: quantile
//     regression at tau = 0.1 on the fraction LojTail closest to L*, with
//     a 95% bootstrap interval loj_lo, loj_hi of 200 resamples seeded by
//     PCG(Seed, 0x10a5));
//
// and after the last step, with one generator PCG(Seed, 0x6765) for both:
//
//   - sharpness: the top Hessian eigenvalue of L by landscape.Lanczos
//     (random start, relative residual 1e-3, at most LanczosIters
//     Hessian-vector products);
//   - hessian_trace: tr Hess L by landscape.HutchinsonTrace with
//     TraceProbes Rademacher probes (and its standard error);
//   - b_simple: the gradient noise scale tr(Sigma) / |G|^2 of the
//     per-example gradients of the probe subset (landscape.GradientNoise;
//     McCandlish et al. 2018);
//   - weight_distance: ||theta_T - theta_0||, all parameters.
//
// They are the Geometry of the run's last record, next to its training and
// held-out loss and accuracy (on the whole sets). A run that diverged has
// none and is left out of the ranking. Report.GeometryRows lists the
// runs; the generalization gap is test_loss - loss (and the accuracy gap
// accuracy - test_accuracy).
//
// Report.Correlations ranks every measure of GeometryMeasures against the
// gap over the runs that have both, by Kendall's tau-b (KendallTau):
//
//	tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)),
//
// n_c and n_d the concordant and discordant pairs of runs, n_0 = n(n-1)/2,
// n_1 and n_2 the pairs tied in the measure and in the gap (a pair tied in
// both counts in each), computed in O(n log n) by Knight's (1966) merge-sort
// count. tau_b is +1 when the measure orders the runs exactly as the gap
// does, -1 when it reverses the order; Jiang et al. rank measures by it.
// The interval is the percentile bootstrap over runs (Efron 1979;
// BootstrapKendall): Resamples (default 1000) resamples of n runs drawn
// with replacement, in the grid's order of the runs, by rng.IntN(n) from
// PCG(Seed, 0x6b656e64) (a fresh generator for each measure and gap, so
// measures present in the same runs see the same resamples), the tau_b of
// each (resamples with a constant measure or gap have none and are
// dropped), and the (1 -+ Level)/2 quantiles of those, interpolated
// linearly between order statistics (at p (m - 1) of m sorted values).
// The runs of a sweep are not i.i.d. draws (they are a grid), so the
// interval describes the stability of the ranking over this grid, not a
// sampling distribution. WriteCorrelations prints the table,
// WriteCorrelationsJSON one {"kind": "correlation", "measure", "tau",
// "ci_lo", "ci_hi", "runs", ...} line per measure and a {"kind":
// "summary", ...} line last (correlations.jsonl, saved by
// SaveCorrelations), and WriteCorrelationFigures draws kendall_tau (tau_b
// with its interval per measure) and gap_vs_<measure> (scatter of the gap
// against the measure, one colour per learning rate). "train sweep" and
// "train sweep analyze" print the table after the slope table (-resamples
// and -seed set the bootstrap).
//
// On GeometryExampleConfig (54 runs, 1000 resamples, seed 1) the loss gap
// ranks most with weight_distance (tau_b +0.48 [+0.31, +0.62]) and
// inversely with pl_min (-0.25 [-0.44, -0.05]); sharpness and the
// Hessian trace rank with the accuracy gap (+0.30 [+0.10, +0.47] and +0.29
// [+0.11, +0.45]) but not with the loss gap (-0.13 [-0.27, +0.01], -0.14
// [-0.29, +0.00]), and the intervals of pl_final, loj_theta and b_simple
// contain 0.
//
// # References
//
//   - A. Jacot, F. Gabriel and C. Hongler, Neural tangent kernel, NeurIPS 2018.
//   - J. Lee et al., Wide neural networks of any depth evolve as linear models under
//     gradient descent, NeurIPS 2019.
//   - S. Mei, A. Montanari and P.-M. Nguyen, PNAS 115 (2018); L. Chizat and F. Bach,
//     NeurIPS 2018; L. Chizat, E. Oyallon and F. Bach, NeurIPS 2019; G. M. Rotskoff and
//     E. Vanden-Eijnden, arXiv:1805.00915.
//   - G. Yang and E. J. Hu, Tensor Programs IV: feature learning in infinite-width
//     neural networks, ICML 2021.
//   - E. Dyer and G. Gur-Ari, Asymptotics of wide networks from Feynman diagrams,
//     ICLR 2020 (arXiv:1909.11304, 2019).
//   - Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, Fantastic
//     generalization measures and where to find them, ICLR 2020.
//   - M. G. Kendall, The treatment of ties in ranking problems, Biometrika 33 (1945);
//     W. R. Knight, A computer method for calculating Kendall's tau with ungrouped
//     data, JASA 61 (1966); B. Efron, Bootstrap methods: another look at the
//     jackknife, Ann. Statist. 7 (1979).
//   - N. S. Keskar et al., On large-batch training for deep learning: generalization
//     gap and sharp minima, ICLR 2017; S. McCandlish, J. Kaplan, D. Amodei et al., An
//     empirical model of large-batch training, arXiv:1812.06162 (2018).
//   - G. Yang et al., Tensor Programs V: tuning large neural networks via zero-shot
//     hyperparameter transfer, arXiv:2203.03466 (2022); the mup library.
//
// # muTransfer
//
// MuTransfer (Yang et al. 2021, Tensor Programs V, Figure 1) trains every
// width of a MuTransferConfig at every rate of a half-octave learning-rate
// grid, per parameterization, optimizer and seed, and locates each width's
// optimal rate (vertex of a least-squares parabola of the mean final
// training loss against log2 lr over +-1 octave of the best grid rate, with
// a percentile bootstrap over seeds). Transfer reports the drift of the
// optimum over the widths in octaves (max - min), its slope in octaves per
// doubling of the width (SP with Adam: about -1 in theory, -0.57..-0.75
// measured on the digits) and whether wider is better at the optimum and at
// fixed rates. MuPBaseScales rescales muP's rates by width-independent
// constants so that muP updates like SP at a base width: the mup library's
// MuAdam (input weights and all biases at lr, hidden weights at
// lr/width_mult, readout at lr with multiplier 1/width_mult) and MuSGD,
// with width_mult = width/base. MuTransferConfig.ZeroReadout starts muP's
// readout at zero (mup's readout_zero_init) and InputLRMult scales muP's
// input-layer rate by a constant tuned at the base width.
//
// Measured on the digits (MLP 64-[2 x n]-10 GELU, 50 steps of 64 of 512
// digits, cosine schedule, 4 seeds, Adam, base width 64, zero readout,
// input multiplier 1/8: "train mutransfer"'s default), widths 32..512: SP's
// optimum falls by 2.51 octaves (2^-4.37 to 2^-6.87, slope -0.59 per
// doubling), muP's moves by 0.34 (2^-3.67..2^-3.33, slope +0.10) and its
// loss at the optimum falls with the width (0.031, 0.0135, 0.0116, 0.0085,
// 0.0057; SP's at 512: 0.0099). On 64..1024 muP's drift is 0.33 and SP's
// 2.13, but muP's loss has saturated: 0.0057 at 512, 0.0064 +- 0.0004 at
// 1024. muP's small upward slope is a finite-width effect that grows as
// the input layer's share of the learning shrinks: +0.06 per doubling at
// MuAdam's input rate (multiplier 1, where muP's loss stops improving
// beyond width 128 and trails SP's), +0.1 at 1/8, +0.2 at 1/64. The
// command line is "train mutransfer".
package sweep
