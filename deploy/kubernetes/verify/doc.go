// Package verify checks Switchboard's Kubernetes manifests
// (deploy/kubernetes) and container image recipe (deploy/Dockerfile).
//
// It is a module of its own so that the server's go.mod stays small. The
// tests (go test ./...) render every kustomize overlay in-process and check
// invariants that a kube-apiserver cannot know: probe paths and ports match
// the switchboard binary, every SWITCHBOARD_* variable is a real setting,
// the drain fits in the termination grace period, stickiness is declared
// one way only, and so on. run.sh next to this file adds the server side: a
// real kube-apiserver accepts every overlay and rejects broken manifests.
// See README.md.
package verify
