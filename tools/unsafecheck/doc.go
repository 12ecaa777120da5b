// Package unsafecheck holds the test that keeps package unsafe in files
// named *_unsafe.go (and *_unsafe_test.go for a test that needs it), where
// each use states the invariant it relies on; a reviewer finds every such
// use by file name.
package unsafecheck
