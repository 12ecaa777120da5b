package abi

import "unsafe"

// The frame's size and where its parts are, from the types (checked
// against C by the layout test): a handler gets the addresses of Info and
// UC as its second and third arguments.
const (
	RTSigFrameSize = uint64(unsafe.Sizeof(RTSigFrame{}))
	RTSigFrameUC   = uint64(unsafe.Offsetof(RTSigFrame{}.UC))
	RTSigFrameInfo = uint64(unsafe.Offsetof(RTSigFrame{}.Info))
)

// UContextSize is the size of a frame's ucontext.
const UContextSize = uint64(unsafe.Sizeof(UContext{}))
