// Package scenario runs YAML scenarios: fleets of simulated devices driven
// through virtual time against the Super SIM control plane, with
// expectations checked as the run goes and reported for people and CI.
//
// Run is the entry point: it takes a valid scenario (scenario/spec), sets
// the control plane up through the REST API (scenario/apiclient: the
// embedded simulator's, or a real one with Options.API), builds the
// devices (scenario/firmware), plays the timeline on the virtual clock (or
// the wall clock with --exec and --hw), samples the expectations and the
// time series, receives the control plane's callbacks, and returns the
// report (scenario/report).
//
// RunShard runs one shard of a run (device i in shard i mod N; the whole
// control plane in every shard) and returns a partial report
// (report.Part) of the raw figures its checks read; Merge sums the parts
// and judges every expectation again, giving the unsharded run's report
// (shard.go, merge.go).
//
// Dependencies point one way: spec is the file format alone; report is
// the outcome alone (it writes durations as spec does); firmware knows the
// format's device settings but nothing of the runner; apiclient knows
// only HTTP; this package wires them, and cmd/fleetsim wires this package
// to the command line.
package scenario
