package sysmsg

import (
	"testing"
	"unsafe"

	"runsc-lite/tools/cabi"
)

func TestLayoutMatchesC(t *testing.T) {
	var m Msg
	var c Control
	var r Response
	var ts ThreadSetup
	want := map[string]uint64{
		"SYSMSG_REGION":                               uint64(Region),
		"SYSMSG_RO_SIZE":                              uint64(ROSize),
		"SYSMSG_RW_BASE":                              uint64(RWBase),
		"SYSMSG_MAX_THREADS":                          uint64(MaxThreads),
		"SYSMSG_SLOT_SIZE":                            uint64(SlotSize),
		"SYSMSG_THREADS_OFFSET":                       uint64(ThreadsOffset),
		"SYSMSG_RW_SIZE":                              uint64(RWSize),
		"SYSMSG_REGION_SIZE":                          uint64(RegionSize),
		"SYSMSG_SETUP_OFFSET":                         uint64(SetupOffset),
		"SYSMSG_SETUP_SIZE":                           uint64(SetupSize),
		"SYSMSG_SETUP_INSNS":                          uint64(SetupInsns),
		"offsetof(struct thread_setup, insns)":        uint64(SetupInsns),
		"sizeof(struct thread_setup)":                 uint64(unsafe.Sizeof(ts)),
		"offsetof(struct thread_setup, prog_len)":     uint64(unsafe.Offsetof(ts.ProgLen)),
		"offsetof(struct thread_setup, prog_filter)":  uint64(unsafe.Offsetof(ts.ProgFilter)),
		"offsetof(struct thread_setup, ss_sp)":        uint64(unsafe.Offsetof(ts.SsSp)),
		"offsetof(struct thread_setup, ss_flags)":     uint64(unsafe.Offsetof(ts.SsFlags)),
		"offsetof(struct thread_setup, ss_size)":      uint64(unsafe.Offsetof(ts.SsSize)),
		"SYSMSG_SETUP_PROG":                           uint64(unsafe.Offsetof(ts.ProgLen)),
		"SYSMSG_SETUP_STACK":                          uint64(unsafe.Offsetof(ts.SsSp)),
		"STUB_CONTROL_SEQ":                            uint64(unsafe.Offsetof(c.Seq)),
		"STUB_CONTROL_KIND":                           uint64(unsafe.Offsetof(c.Kind)),
		"STUB_CONTROL_SYSNO":                          uint64(unsafe.Offsetof(c.Sysno)),
		"STUB_CONTROL_ARGS":                           uint64(unsafe.Offsetof(c.Args)),
		"STUB_CONTROL_SPIN":                           uint64(unsafe.Offsetof(c.SpinLimit)),
		"STUB_CONTROL_FSGSBASE":                       uint64(unsafe.Offsetof(c.HasFSGSBase)),
		"STUB_CONTROL_FPX_SW":                         uint64(unsafe.Offsetof(c.FpxSw)),
		"offsetof(struct stub_control, fpx_sw)":       uint64(unsafe.Offsetof(c.FpxSw)),
		"SYSMSG_PATCH_TABLE":                          PatchTable,
		"SYSMSG_PATCH_TABLE_SIZE":                     PatchTableSize,
		"SYSMSG_PATCH_TABLE_OFFSET":                   PatchTableOffset,
		"SYSMSG_TRAP_SIZE":                            TrapSize,
		"SYSMSG_TRAP_RET":                             TrapRet,
		"SYSMSG_TRAP_CODE":                            TrapCode,
		"SYSMSG_TRAP_FALLBACK":                        TrapFallback,
		"SYSMSG_TRAP_NR":                              TrapNr,
		"SYSMSG_TRAP_LAHF":                            TrapLahf,
		"SYSMSG_TRAP_REG_FALLBACK":                    TrapRegFallback,
		"SYSMSG_TRAP_REG_TAIL":                        TrapRegTail,
		"SYSMSG_TRAP_TAIL_LEN":                        TrapTailLen,
		"SYSMSG_PATCH_FRAME":                          PatchFrame,
		"SYSMSG_PF_UC":                                PFUc,
		"SYSMSG_PF_MC":                                PFMc,
		"SYSMSG_PF_SIGMASK":                           PFSigmask,
		"SYSMSG_PF_SI":                                PFSi,
		"SYSMSG_PF_FP":                                PFFp,
		"SYSMSG_PATCH_STACK":                          PatchStack,
		"STUB_RESPONSE_SEQ":                           uint64(unsafe.Offsetof(r.Seq)),
		"STUB_RESPONSE_RET":                           uint64(unsafe.Offsetof(r.Ret)),
		"STUB_SCRATCH_MSGHDR":                         uint64(ScratchMsghdr),
		"STUB_SCRATCH_PIDFD":                          uint64(ScratchPidfd),
		"SYSMSG_ALTSTACK_OFFSET":                      uint64(AltstackOffset),
		"SYSMSG_ALTSTACK_SIZE":                        uint64(AltstackSize),
		"SYSMSG_STATE_DEAD":                           uint64(StateDead),
		"SYSMSG_STATE_EVENT":                          uint64(StateEvent),
		"SYSMSG_STATE_RESUME":                         uint64(StateResume),
		"SYSMSG_STATE_EXIT":                           uint64(StateExit),
		"SYSMSG_SET_FS":                               uint64(SetFS),
		"SYSMSG_SET_GS":                               uint64(SetGS),
		"STUB_REQ_SYSCALL":                            uint64(ReqSyscall),
		"STUB_REQ_MMAP_FD":                            uint64(ReqMmapFD),
		"STUB_REQ_NEW_THREAD":                         uint64(ReqNewThread),
		"STUB_REQ_FORK":                               uint64(ReqFork),
		"sizeof(struct sysmsg)":                       uint64(unsafe.Sizeof(m)),
		"offsetof(struct sysmsg, state)":              uint64(unsafe.Offsetof(m.State)),
		"offsetof(struct sysmsg, sentry_waiting)":     uint64(unsafe.Offsetof(m.SentryWaiting)),
		"offsetof(struct sysmsg, stub_waiting)":       uint64(unsafe.Offsetof(m.StubWaiting)),
		"offsetof(struct sysmsg, signo)":              uint64(unsafe.Offsetof(m.Signo)),
		"offsetof(struct sysmsg, siginfo)":            uint64(unsafe.Offsetof(m.Siginfo)),
		"offsetof(struct sysmsg, ucontext)":           uint64(unsafe.Offsetof(m.Ucontext)),
		"offsetof(struct sysmsg, fs_base)":            uint64(unsafe.Offsetof(m.FsBase)),
		"offsetof(struct sysmsg, gs_base)":            uint64(unsafe.Offsetof(m.GsBase)),
		"offsetof(struct sysmsg, new_fs_base)":        uint64(unsafe.Offsetof(m.NewFsBase)),
		"offsetof(struct sysmsg, new_gs_base)":        uint64(unsafe.Offsetof(m.NewGsBase)),
		"offsetof(struct sysmsg, set_bases)":          uint64(unsafe.Offsetof(m.SetBases)),
		"offsetof(struct sysmsg, self)":               uint64(unsafe.Offsetof(m.Self)),
		"SYSMSG_SELF":                                 uint64(unsafe.Offsetof(m.Self)),
		"sizeof(struct stub_control)":                 uint64(unsafe.Sizeof(c)),
		"offsetof(struct stub_control, seq)":          uint64(unsafe.Offsetof(c.Seq)),
		"offsetof(struct stub_control, kind)":         uint64(unsafe.Offsetof(c.Kind)),
		"offsetof(struct stub_control, sysno)":        uint64(unsafe.Offsetof(c.Sysno)),
		"offsetof(struct stub_control, args)":         uint64(unsafe.Offsetof(c.Args)),
		"offsetof(struct stub_control, spin_limit)":   uint64(unsafe.Offsetof(c.SpinLimit)),
		"offsetof(struct stub_control, has_fsgsbase)": uint64(unsafe.Offsetof(c.HasFSGSBase)),
		"sizeof(struct stub_response)":                uint64(unsafe.Sizeof(r)),
		"offsetof(struct stub_response, seq)":         uint64(unsafe.Offsetof(r.Seq)),
		"offsetof(struct stub_response, ret)":         uint64(unsafe.Offsetof(r.Ret)),
	}
	if unsafe.Offsetof(m.Self) != MsgSelf {
		t.Errorf("MsgSelf is %d, Msg.Self is at %d", MsgSelf, unsafe.Offsetof(m.Self))
	}
	cabi.Check(t, "c", "sysmsg.h", want)
}
