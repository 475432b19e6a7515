// Package scenario runs YAML scenarios: fleets of simulated devices driven
// through virtual time against the Super SIM control plane, with
// expectations checked as the run goes and reported for people and CI.
//
// The file format lives in scenario/spec; the report and its writers in
// scenario/report.
package scenario
