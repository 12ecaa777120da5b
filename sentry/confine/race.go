//go:build race

package confine

// raceEnabled adds the race detector's runtime (C, through cgo) to the
// sentry's allow-list.
const raceEnabled = true
