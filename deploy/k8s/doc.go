// Package k8s holds fleetsim's Kubernetes manifests (shards/, merge/,
// service/) and, in its test, their validation: every document decoded
// strictly into the Kubernetes API types and checked for what a run needs.
// Nothing in the fleetsim binary imports it.
package k8s
