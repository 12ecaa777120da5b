package abi

import (
	"testing"
	"unsafe"

	"runsc-lite/tools/cabi"
)

// TestSigframeMatchesC checks the signal frame against the C headers,
// glibc's ucontext_t included: its fields agree with the kernel's up to
// uc_sigmask.
func TestSigframeMatchesC(t *testing.T) {
	var f RTSigFrame
	var sw FPXSwBytes
	sc := &f.UC.MContext
	want := map[string]uint64{
		"sizeof(struct rt_sigframe)":                          uint64(unsafe.Sizeof(f)),
		"offsetof(struct rt_sigframe, uc)":                    uint64(unsafe.Offsetof(f.UC)),
		"offsetof(struct rt_sigframe, info)":                  uint64(unsafe.Offsetof(f.Info)),
		"sizeof(struct kernel_ucontext)":                      uint64(unsafe.Sizeof(f.UC)),
		"offsetof(struct kernel_ucontext, uc_stack)":          uint64(unsafe.Offsetof(f.UC.Stack)),
		"offsetof(struct kernel_ucontext, uc_mcontext)":       uint64(unsafe.Offsetof(f.UC.MContext)),
		"offsetof(struct kernel_ucontext, uc_sigmask)":        uint64(unsafe.Offsetof(f.UC.Sigmask)),
		"offsetof(ucontext_t, uc_stack)":                      uint64(unsafe.Offsetof(f.UC.Stack)),
		"offsetof(ucontext_t, uc_mcontext)":                   uint64(unsafe.Offsetof(f.UC.MContext)),
		"sizeof(struct sigcontext)":                           uint64(unsafe.Sizeof(*sc)),
		"offsetof(struct sigcontext, r8)":                     uint64(unsafe.Offsetof(sc.R8)),
		"offsetof(struct sigcontext, rdi)":                    uint64(unsafe.Offsetof(sc.Rdi)),
		"offsetof(struct sigcontext, rcx)":                    uint64(unsafe.Offsetof(sc.Rcx)),
		"offsetof(struct sigcontext, rsp)":                    uint64(unsafe.Offsetof(sc.Rsp)),
		"offsetof(struct sigcontext, rip)":                    uint64(unsafe.Offsetof(sc.Rip)),
		"offsetof(struct sigcontext, eflags)":                 uint64(unsafe.Offsetof(sc.Eflags)),
		"offsetof(struct sigcontext, cs)":                     uint64(unsafe.Offsetof(sc.Cs)),
		"offsetof(struct sigcontext, gs)":                     uint64(unsafe.Offsetof(sc.Gs)),
		"offsetof(struct sigcontext, fs)":                     uint64(unsafe.Offsetof(sc.Fs)),
		"offsetof(struct sigcontext, __pad0)":                 uint64(unsafe.Offsetof(sc.Ss)),
		"offsetof(struct sigcontext, err)":                    uint64(unsafe.Offsetof(sc.Err)),
		"offsetof(struct sigcontext, trapno)":                 uint64(unsafe.Offsetof(sc.Trapno)),
		"offsetof(struct sigcontext, oldmask)":                uint64(unsafe.Offsetof(sc.Oldmask)),
		"offsetof(struct sigcontext, cr2)":                    uint64(unsafe.Offsetof(sc.Cr2)),
		"offsetof(struct sigcontext, fpstate)":                uint64(unsafe.Offsetof(sc.Fpstate)),
		"offsetof(struct sigcontext, __reserved1)":            uint64(unsafe.Offsetof(sc.Reserved1)),
		"sizeof(struct _fpx_sw_bytes)":                        uint64(unsafe.Sizeof(sw)),
		"offsetof(struct _fpx_sw_bytes, extended_size)":       uint64(unsafe.Offsetof(sw.ExtendedSize)),
		"offsetof(struct _fpx_sw_bytes, xstate_bv)":           uint64(unsafe.Offsetof(sw.Xfeatures)),
		"offsetof(struct _fpx_sw_bytes, xstate_size)":         uint64(unsafe.Offsetof(sw.XstateSize)),
		"offsetof(struct _fpstate, __glibc_reserved1) + 12*4": FPXSwBytesOffset,
		"FP_XSTATE_MAGIC1":                                    FP_XSTATE_MAGIC1,
		"UC_FP_XSTATE":                                        UC_FP_XSTATE,
		"UC_SIGCONTEXT_SS":                                    UC_SIGCONTEXT_SS,
		"UC_STRICT_RESTORE_SS":                                UC_STRICT_RESTORE_SS,
	}
	var ssi SignalfdSiginfo
	for c, g := range map[string]uintptr{
		"sizeof(struct signalfd_siginfo)":                  unsafe.Sizeof(ssi),
		"offsetof(struct signalfd_siginfo, ssi_tid)":       unsafe.Offsetof(ssi.TID),
		"offsetof(struct signalfd_siginfo, ssi_status)":    unsafe.Offsetof(ssi.Status),
		"offsetof(struct signalfd_siginfo, ssi_ptr)":       unsafe.Offsetof(ssi.Ptr),
		"offsetof(struct signalfd_siginfo, ssi_addr)":      unsafe.Offsetof(ssi.Addr),
		"offsetof(struct signalfd_siginfo, ssi_addr_lsb)":  unsafe.Offsetof(ssi.AddrLSB),
		"offsetof(struct signalfd_siginfo, ssi_syscall)":   unsafe.Offsetof(ssi.Syscall),
		"offsetof(struct signalfd_siginfo, ssi_call_addr)": unsafe.Offsetof(ssi.CallAddr),
		"offsetof(struct signalfd_siginfo, ssi_arch)":      unsafe.Offsetof(ssi.Arch),
	} {
		want[c] = uint64(g)
	}
	var mh MsgHdr
	for c, g := range map[string]uintptr{
		"sizeof(struct msghdr)":                   unsafe.Sizeof(mh),
		"offsetof(struct msghdr, msg_namelen)":    unsafe.Offsetof(mh.NameLen),
		"offsetof(struct msghdr, msg_iov)":        unsafe.Offsetof(mh.Iov),
		"offsetof(struct msghdr, msg_iovlen)":     unsafe.Offsetof(mh.IovLen),
		"offsetof(struct msghdr, msg_control)":    unsafe.Offsetof(mh.Control),
		"offsetof(struct msghdr, msg_controllen)": unsafe.Offsetof(mh.ControlLen),
		"offsetof(struct msghdr, msg_flags)":      unsafe.Offsetof(mh.Flags),
	} {
		want[c] = uint64(g)
	}
	want["offsetof(struct linux_dirent64, d_name)"] = uint64(Dirent64NameOffset)
	want["offsetof(struct linux_dirent, d_name)"] = uint64(DirentNameOffset)
	var pack SigsetArgpack
	want["sizeof(struct sigset_argpack)"] = uint64(unsafe.Sizeof(pack))
	want["offsetof(struct sigset_argpack, size)"] = uint64(unsafe.Offsetof(pack.Size))
	var xs XSave
	for c, g := range map[string]uintptr{
		"sizeof(struct _fpstate)":                                 unsafe.Sizeof(xs.FX),
		"sizeof(struct _fpstate) + 0":                             FXSaveSize,
		"offsetof(struct _fpstate, mxcsr)":                        unsafe.Offsetof(xs.FX.Mxcsr),
		"offsetof(struct _fpstate, mxcr_mask)":                    unsafe.Offsetof(xs.FX.MxcsrMask),
		"offsetof(struct _fpstate, _st)":                          unsafe.Offsetof(xs.FX.St),
		"offsetof(struct _fpstate, _xmm)":                         unsafe.Offsetof(xs.FX.Xmm),
		"offsetof(struct _fpstate, __glibc_reserved1)":            unsafe.Offsetof(xs.FX.Reserved),
		"offsetof(struct _fpstate, __glibc_reserved1) + 12*4 + 0": unsafe.Offsetof(xs.FX.SwReserved),
		"offsetof(struct _xstate, xstate_hdr)":                    unsafe.Offsetof(xs.Header),
		"sizeof(struct _xsave_hdr)":                               unsafe.Sizeof(xs.Header),
		"offsetof(struct _xsave_hdr, __glibc_reserved1)":          unsafe.Offsetof(xs.Header.XcompBV),
		"offsetof(struct _xsave_hdr, __glibc_reserved2)":          unsafe.Offsetof(xs.Header.Reserved) + 8,
	} {
		want[c] = uint64(g)
	}
	var gr GroupReq
	want["sizeof(struct group_req)"] = uint64(unsafe.Sizeof(gr))
	want["offsetof(struct group_req, gr_group)"] = uint64(unsafe.Offsetof(gr.Group))
	var mmh MMsgHdr
	want["sizeof(struct mmsghdr)"] = uint64(unsafe.Sizeof(mmh))
	want["offsetof(struct mmsghdr, msg_len)"] = uint64(MMsgHdrLenOffset)
	want["offsetof(struct mmsghdr, msg_hdr)"] = uint64(unsafe.Offsetof(mmh.Hdr))
	want["sizeof(struct msghdr) + 0"] = uint64(unsafe.Sizeof(mh))
	want["offsetof(struct msghdr, msg_namelen) + 0"] = uint64(MsgHdrNameLenOffset)
	want["offsetof(struct msghdr, msg_controllen) + 0"] = uint64(MsgHdrControlLenOffset)
	want["offsetof(struct msghdr, msg_flags) + 0"] = uint64(MsgHdrFlagsOffset)
	var si Sysinfo
	want["sizeof(struct sysinfo)"] = uint64(unsafe.Sizeof(si))
	want["offsetof(struct sysinfo, procs)"] = uint64(unsafe.Offsetof(si.Procs))
	want["offsetof(struct sysinfo, totalhigh)"] = uint64(unsafe.Offsetof(si.TotalHigh))
	want["offsetof(struct sysinfo, mem_unit)"] = uint64(unsafe.Offsetof(si.Unit))
	want["sysconf(_SC_PAGESIZE)"] = PageSize
	var aux AuxEntry
	want["sizeof(Elf64_auxv_t)"] = uint64(unsafe.Sizeof(aux))
	want["offsetof(Elf64_auxv_t, a_un)"] = uint64(unsafe.Offsetof(aux.Val))
	var fw FutexWaitv
	want["sizeof(struct futex_waitv)"] = uint64(unsafe.Sizeof(fw))
	want["offsetof(struct futex_waitv, uaddr)"] = uint64(unsafe.Offsetof(fw.Uaddr))
	want["offsetof(struct futex_waitv, flags)"] = uint64(unsafe.Offsetof(fw.Flags))
	want["FUTEX_WAITV_MAX"] = FutexWaitvMax
	want["FUTEX_32"] = Futex2SizeU32
	want["FUTEX_PRIVATE_FLAG"] = Futex2Private
	for c, g := range map[string]uint64{
		"DN_ACCESS": DN_ACCESS, "DN_MODIFY": DN_MODIFY, "DN_CREATE": DN_CREATE, "DN_DELETE": DN_DELETE,
		"DN_RENAME": DN_RENAME, "DN_ATTRIB": DN_ATTRIB, "DN_MULTISHOT": DN_MULTISHOT,
	} {
		want[c] = g
	}
	var cb IOCB
	for c, g := range map[string]uintptr{
		"sizeof(struct iocb)":                   unsafe.Sizeof(cb),
		"offsetof(struct iocb, aio_key)":        unsafe.Offsetof(cb.Key),
		"offsetof(struct iocb, aio_rw_flags)":   unsafe.Offsetof(cb.RWFlags),
		"offsetof(struct iocb, aio_lio_opcode)": unsafe.Offsetof(cb.Opcode),
		"offsetof(struct iocb, aio_fildes)":     unsafe.Offsetof(cb.FD),
		"offsetof(struct iocb, aio_buf)":        unsafe.Offsetof(cb.Buf),
		"offsetof(struct iocb, aio_offset)":     unsafe.Offsetof(cb.Offset),
		"offsetof(struct iocb, aio_reserved2)":  unsafe.Offsetof(cb.Reserved2),
		"offsetof(struct iocb, aio_flags)":      unsafe.Offsetof(cb.Flags),
		"offsetof(struct iocb, aio_resfd)":      unsafe.Offsetof(cb.ResFD),
	} {
		want[c] = uint64(g)
	}
	var iov Iovec
	want["sizeof(struct iovec)"] = uint64(unsafe.Sizeof(iov))
	want["offsetof(struct iovec, iov_len)"] = uint64(unsafe.Offsetof(iov.Len))
	var chld SigChld
	fields := unsafe.Offsetof(f.Info.Fields)
	for c, g := range map[string]uintptr{
		"offsetof(siginfo_t, si_pid)":    fields + unsafe.Offsetof(chld.PID),
		"offsetof(siginfo_t, si_uid)":    fields + unsafe.Offsetof(chld.UID),
		"offsetof(siginfo_t, si_status)": fields + unsafe.Offsetof(chld.Status),
		"offsetof(siginfo_t, si_utime)":  fields + unsafe.Offsetof(chld.UTime),
		"offsetof(siginfo_t, si_stime)":  fields + unsafe.Offsetof(chld.STime),
	} {
		want[c] = uint64(g)
	}
	exprs := make([]string, 0, len(want))
	for e := range want {
		exprs = append(exprs, e)
	}
	got := cabi.Values(t, "testdata", "sigframe.h", exprs)
	for e, w := range want {
		if got[e] != w {
			t.Errorf("%s = %d in C, %d in Go", e, got[e], w)
		}
	}
}

// TestLoopInfoMatchesC checks struct loop_info against linux/loop.h.
func TestLoopInfoMatchesC(t *testing.T) {
	var li LoopInfo
	want := map[string]uintptr{
		"sizeof(struct loop_info)":                    unsafe.Sizeof(li),
		"offsetof(struct loop_info, lo_device)":       unsafe.Offsetof(li.Device),
		"offsetof(struct loop_info, lo_inode)":        unsafe.Offsetof(li.Inode),
		"offsetof(struct loop_info, lo_rdevice)":      unsafe.Offsetof(li.Rdevice),
		"offsetof(struct loop_info, lo_offset)":       unsafe.Offsetof(li.Offset),
		"offsetof(struct loop_info, lo_flags)":        unsafe.Offsetof(li.Flags),
		"offsetof(struct loop_info, lo_name)":         unsafe.Offsetof(li.Name),
		"offsetof(struct loop_info, lo_encrypt_key)":  unsafe.Offsetof(li.EncryptKey),
		"offsetof(struct loop_info, lo_init)":         unsafe.Offsetof(li.Init),
		"offsetof(struct loop_info, reserved)":        unsafe.Offsetof(li.Reserved),
		"sizeof(((struct loop_info *)0)->lo_device)":  unsafe.Sizeof(li.Device),
		"sizeof(((struct loop_info *)0)->lo_rdevice)": unsafe.Sizeof(li.Rdevice),
		"sizeof(((struct loop_info *)0)->lo_inode)":   unsafe.Sizeof(li.Inode),
	}
	checkLayout(t, "loop.h", want)
}

// TestUstatMatchesC checks struct ustat against the kernel's declaration.
func TestUstatMatchesC(t *testing.T) {
	var u Ustat
	want := map[string]uintptr{
		"sizeof(struct ustat)":             unsafe.Sizeof(u),
		"offsetof(struct ustat, f_tinode)": unsafe.Offsetof(u.Tinode),
		"offsetof(struct ustat, f_fname)":  unsafe.Offsetof(u.Fname),
		"offsetof(struct ustat, f_fpack)":  unsafe.Offsetof(u.Fpack),
	}
	checkLayout(t, "ustat.h", want)
}

// TestTermioMatchesC checks struct termio against the kernel's.
func TestTermioMatchesC(t *testing.T) {
	var tio Termio
	want := map[string]uintptr{
		"sizeof(struct termio)":              unsafe.Sizeof(tio),
		"offsetof(struct termio, c_oflag)":   unsafe.Offsetof(tio.OutputFlags),
		"offsetof(struct termio, c_cflag)":   unsafe.Offsetof(tio.ControlFlags),
		"offsetof(struct termio, c_lflag)":   unsafe.Offsetof(tio.LocalFlags),
		"offsetof(struct termio, c_line)":    unsafe.Offsetof(tio.LineDiscipline),
		"offsetof(struct termio, c_cc)":      unsafe.Offsetof(tio.ControlCharacters),
		"sizeof(((struct termio *)0)->c_cc)": unsafe.Sizeof(tio.ControlCharacters),
	}
	checkLayout(t, "termio.h", want)
}

// TestPtracePeekSigInfoArgsMatchesC checks struct ptrace_peeksiginfo_args.
func TestPtracePeekSigInfoArgsMatchesC(t *testing.T) {
	var a PtracePeekSigInfoArgs
	want := map[string]uintptr{
		"sizeof(struct ptrace_peeksiginfo_args)":          unsafe.Sizeof(a),
		"offsetof(struct ptrace_peeksiginfo_args, flags)": unsafe.Offsetof(a.Flags),
		"offsetof(struct ptrace_peeksiginfo_args, nr)":    unsafe.Offsetof(a.Nr),
	}
	checkLayout(t, "ptrace.h", want)
}

// checkLayout compares C expressions of header (in testdata) with their Go
// values.
func checkLayout(t *testing.T, header string, want map[string]uintptr) {
	t.Helper()
	exprs := make([]string, 0, len(want))
	for e := range want {
		exprs = append(exprs, e)
	}
	got := cabi.Values(t, "testdata", header, exprs)
	for e, w := range want {
		if got[e] != uint64(w) {
			t.Errorf("%s = %d in C, %d in Go", e, got[e], w)
		}
	}
}

func TestElfCoreNotesMatchC(t *testing.T) {
	var s ElfPrstatus
	var p ElfPrpsinfo
	want := map[string]uintptr{
		"sizeof(struct elf_prstatus)":               unsafe.Sizeof(s),
		"offsetof(struct elf_prstatus, pr_cursig)":  unsafe.Offsetof(s.CurSig),
		"offsetof(struct elf_prstatus, pr_sigpend)": unsafe.Offsetof(s.SigPend),
		"offsetof(struct elf_prstatus, pr_pid)":     unsafe.Offsetof(s.Pid),
		"offsetof(struct elf_prstatus, pr_utime)":   unsafe.Offsetof(s.UTime),
		"offsetof(struct elf_prstatus, pr_cstime)":  unsafe.Offsetof(s.CSTime),
		"offsetof(struct elf_prstatus, pr_reg)":     unsafe.Offsetof(s.Reg),
		"offsetof(struct elf_prstatus, pr_fpvalid)": unsafe.Offsetof(s.FPValid),
		"sizeof(elf_gregset_t)":                     unsafe.Sizeof(s.Reg),
		"sizeof(struct elf_prpsinfo)":               unsafe.Sizeof(p),
		"offsetof(struct elf_prpsinfo, pr_flag)":    unsafe.Offsetof(p.Flag),
		"offsetof(struct elf_prpsinfo, pr_uid)":     unsafe.Offsetof(p.UID),
		"offsetof(struct elf_prpsinfo, pr_pid)":     unsafe.Offsetof(p.Pid),
		"offsetof(struct elf_prpsinfo, pr_sid)":     unsafe.Offsetof(p.Sid),
		"offsetof(struct elf_prpsinfo, pr_fname)":   unsafe.Offsetof(p.Fname),
		"offsetof(struct elf_prpsinfo, pr_psargs)":  unsafe.Offsetof(p.Psargs),
	}
	checkLayout(t, "elfcore.h", want)
}

// TestNetfilterMatchesC checks struct xt_counters_info and struct
// xt_state_info.
func TestNetfilterMatchesC(t *testing.T) {
	var c XTCountersInfo
	var s XTStateInfo
	want := map[string]uintptr{
		"sizeof(struct xt_counters_info)":                 unsafe.Sizeof(c),
		"offsetof(struct xt_counters_info, num_counters)": unsafe.Offsetof(c.NumCounters),
		"offsetof(struct xt_counters_info, counters)":     SizeOfXTCountersInfo,
		"sizeof(struct xt_state_info)":                    unsafe.Sizeof(s),
	}
	if unsafe.Sizeof(c) != SizeOfXTCountersInfo || unsafe.Sizeof(s) != SizeOfXTStateInfo {
		t.Errorf("SizeOf constants %d, %d; types %d, %d", SizeOfXTCountersInfo, SizeOfXTStateInfo, unsafe.Sizeof(c), unsafe.Sizeof(s))
	}
	checkLayout(t, "netfilter.h", want)
}

// TestFsxattrMatchesC checks struct fsxattr, the inode flags and their
// ioctls against linux/fs.h.
func TestFsxattrMatchesC(t *testing.T) {
	var x Fsxattr
	want := map[string]uintptr{
		"sizeof(struct fsxattr)":                   unsafe.Sizeof(x),
		"sizeof(struct fsxattr) + 0":               FsxattrSize,
		"offsetof(struct fsxattr, fsx_extsize)":    unsafe.Offsetof(x.Extsize),
		"offsetof(struct fsxattr, fsx_nextents)":   unsafe.Offsetof(x.Nextents),
		"offsetof(struct fsxattr, fsx_projid)":     unsafe.Offsetof(x.Projid),
		"offsetof(struct fsxattr, fsx_cowextsize)": unsafe.Offsetof(x.Cowextsize),
		"offsetof(struct fsxattr, fsx_pad)":        unsafe.Offsetof(x.Pad),
		"FS_IOC_FSGETXATTR":                        uintptr(FS_IOC_FSGETXATTR),
		"FS_IOC_FSSETXATTR":                        uintptr(FS_IOC_FSSETXATTR),
		"FS_SYNC_FL":                               FS_SYNC_FL,
		"FS_IMMUTABLE_FL":                          FS_IMMUTABLE_FL,
		"FS_APPEND_FL":                             FS_APPEND_FL,
		"FS_NODUMP_FL":                             FS_NODUMP_FL,
		"FS_NOATIME_FL":                            FS_NOATIME_FL,
		"FS_DAX_FL":                                FS_DAX_FL,
		"FS_PROJINHERIT_FL":                        FS_PROJINHERIT_FL,
		"FS_XFLAG_IMMUTABLE":                       FS_XFLAG_IMMUTABLE,
		"FS_XFLAG_APPEND":                          FS_XFLAG_APPEND,
		"FS_XFLAG_SYNC":                            FS_XFLAG_SYNC,
		"FS_XFLAG_NOATIME":                         FS_XFLAG_NOATIME,
		"FS_XFLAG_NODUMP":                          FS_XFLAG_NODUMP,
		"FS_XFLAG_PROJINHERIT":                     FS_XFLAG_PROJINHERIT,
		"FS_XFLAG_DAX":                             FS_XFLAG_DAX,
	}
	checkLayout(t, "fileattr.h", want)
}

// TestSockDiagMatchesC checks the inet_diag and unix_diag structures.
func TestSockDiagMatchesC(t *testing.T) {
	var id InetDiagSockID
	var req InetDiagReqV2
	var m InetDiagMsg
	var ureq UnixDiagReq
	var um UnixDiagMsg
	var rql UnixDiagRQLen
	want := map[string]uintptr{
		"sizeof(struct inet_diag_sockid)":                 unsafe.Sizeof(id),
		"offsetof(struct inet_diag_sockid, idiag_dport)":  unsafe.Offsetof(id.DPort),
		"offsetof(struct inet_diag_sockid, idiag_src)":    unsafe.Offsetof(id.Src),
		"offsetof(struct inet_diag_sockid, idiag_dst)":    unsafe.Offsetof(id.Dst),
		"offsetof(struct inet_diag_sockid, idiag_if)":     unsafe.Offsetof(id.If),
		"offsetof(struct inet_diag_sockid, idiag_cookie)": unsafe.Offsetof(id.Cookie),
		"sizeof(struct inet_diag_req_v2)":                 unsafe.Sizeof(req),
		"offsetof(struct inet_diag_req_v2, idiag_ext)":    unsafe.Offsetof(req.Ext),
		"offsetof(struct inet_diag_req_v2, idiag_states)": unsafe.Offsetof(req.States),
		"offsetof(struct inet_diag_req_v2, id)":           unsafe.Offsetof(req.ID),
		"sizeof(struct inet_diag_msg)":                    unsafe.Sizeof(m),
		"offsetof(struct inet_diag_msg, idiag_state)":     unsafe.Offsetof(m.State),
		"offsetof(struct inet_diag_msg, id)":              unsafe.Offsetof(m.ID),
		"offsetof(struct inet_diag_msg, idiag_expires)":   unsafe.Offsetof(m.Expires),
		"offsetof(struct inet_diag_msg, idiag_rqueue)":    unsafe.Offsetof(m.RQueue),
		"offsetof(struct inet_diag_msg, idiag_wqueue)":    unsafe.Offsetof(m.WQueue),
		"offsetof(struct inet_diag_msg, idiag_uid)":       unsafe.Offsetof(m.UID),
		"offsetof(struct inet_diag_msg, idiag_inode)":     unsafe.Offsetof(m.Inode),
		"sizeof(struct unix_diag_req)":                    unsafe.Sizeof(ureq),
		"offsetof(struct unix_diag_req, udiag_states)":    unsafe.Offsetof(ureq.States),
		"offsetof(struct unix_diag_req, udiag_ino)":       unsafe.Offsetof(ureq.Ino),
		"offsetof(struct unix_diag_req, udiag_show)":      unsafe.Offsetof(ureq.Show),
		"offsetof(struct unix_diag_req, udiag_cookie)":    unsafe.Offsetof(ureq.Cookie),
		"sizeof(struct unix_diag_msg)":                    unsafe.Sizeof(um),
		"offsetof(struct unix_diag_msg, udiag_state)":     unsafe.Offsetof(um.State),
		"offsetof(struct unix_diag_msg, udiag_ino)":       unsafe.Offsetof(um.Ino),
		"offsetof(struct unix_diag_msg, udiag_cookie)":    unsafe.Offsetof(um.Cookie),
		"INET_DIAG_REQ_BYTECODE":                          INET_DIAG_REQ_BYTECODE,
		"UDIAG_SHOW_NAME":                                 UDIAG_SHOW_NAME,
		"UNIX_DIAG_NAME":                                  UNIX_DIAG_NAME,
		"UDIAG_SHOW_PEER":                                 UDIAG_SHOW_PEER,
		"UDIAG_SHOW_RQLEN":                                UDIAG_SHOW_RQLEN,
		"UNIX_DIAG_PEER":                                  UNIX_DIAG_PEER,
		"UNIX_DIAG_RQLEN":                                 UNIX_DIAG_RQLEN,
		"UNIX_DIAG_SHUTDOWN":                              UNIX_DIAG_SHUTDOWN,
		"sizeof(struct unix_diag_rqlen)":                  unsafe.Sizeof(rql),
		"offsetof(struct unix_diag_rqlen, udiag_wqueue)":  unsafe.Offsetof(rql.WQueue),
	}
	checkLayout(t, "sockdiag.h", want)
}
