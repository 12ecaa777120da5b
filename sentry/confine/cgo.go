//go:build cgo

package confine

// cgoLinked adds glibc's thread start to the sentry's allow-list: the
// binary is linked with C (the race detector's runtime, or package net's
// resolver, which netstack imports, when CGO_ENABLED is on), and the Go
// runtime starts its threads with pthread_create.
const cgoLinked = true
