package abi

// LoopInfo is struct loop_info (linux/loop.h) on x86-64, what the loop
// driver's LOOP_SET_STATUS and LOOP_GET_STATUS carry; x/sys's LoopInfo
// leaves the padding after lo_number implicit.
type LoopInfo struct {
	Number         int32
	_              int32
	Device         uint64
	Inode          uint64
	Rdevice        uint64
	Offset         int32
	EncryptType    int32
	EncryptKeySize int32
	Flags          int32
	Name           [64]byte
	EncryptKey     [32]byte
	Init           [2]uint64
	Reserved       [4]byte
	_              [4]byte
}
