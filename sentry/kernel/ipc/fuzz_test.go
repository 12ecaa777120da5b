package ipc

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/usage"
)

// program is the fuzzer's bytes read as a sequence of IPC calls.
type program struct{ b []byte }

func (p *program) done() bool { return len(p.b) == 0 }

func (p *program) byte() byte {
	if len(p.b) == 0 {
		return 0
	}
	v := p.b[0]
	p.b = p.b[1:]
	return v
}

func (p *program) u16() uint16 { return uint16(p.byte()) | uint16(p.byte())<<8 }

func (p *program) u32() uint32 { return uint32(p.u16()) | uint32(p.u16())<<16 }

// bytes returns the next n bytes of the program, zeros past its end.
func (p *program) bytes(n int) []byte {
	out := make([]byte, n)
	k := copy(out, p.b)
	p.b = p.b[k:]
	return out
}

// structure returns the next bytes as a T, as the application may write it.
func structure[T any](p *program) *T {
	v := new(T)
	abi.Decode(p.bytes(len(abi.AsBytes(v))), v)
	return v
}

// FuzzIPC runs arbitrary sequences of System V IPC calls from two callers
// (root and an unprivileged user) and two processes on one namespace,
// with the sizes and counts the syscall layer lets through (a message of
// up to msgmax bytes, a receive buffer of any size, up to 8 semaphore
// operations on any semaphore number, SETALL and IPC_SET buffers of the
// sizes semctl and msgctl copy in, segments of any size) and every
// operation non-blocking. Invariants: every error carries an errno;
// nothing panics; a receive returns at most the bytes asked for (unless
// it fails); a semaphore value stays within 0..SEMVMX; and once every
// object is removed and both processes have exited, the namespace's
// counts of message bytes, semaphores and shared memory pages and the
// memory account are all back to zero.
func FuzzIPC(f *testing.F) {
	f.Add([]byte{0, 0, 0x03, 0xb6, 1, 0, 5, 10, 0, 2, 0, 0, 0, 0, 0})
	f.Add([]byte{4, 0, 0x03, 0xb6, 3, 0, 5, 0, 1, 0, 2, 0, 0, 0x10, 6, 0, 4, 0, 13, 9, 0})
	f.Add([]byte{7, 0, 0x03, 0xb6, 0, 0x10, 0, 0, 8, 0, 0, 8, 0, 2})
	f.Add([]byte{4, 1, 0x03, 0xb6, 200, 0, 6, 0, 0, 17, 0, 0, 3, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		mem := usage.NewMemory(64 << 20)
		ns := NewNamespace(&Sandbox{Attached: func(dev, ino uint64) int { return 0 }})
		callers := [2]*Caller{
			{PID: 1, Privileged: true, Memory: mem},
			{PID: 2, UID: 1000, GID: 1000, Memory: mem},
		}
		procs := [2]any{"one", "two"}
		var msgIDs, semIDs, shmIDs []int
		check := func(op string, err error) {
			var errno unix.Errno
			if err != nil && !errors.As(err, &errno) {
				t.Fatalf("%s: %v carries no errno", op, err)
			}
		}
		p := &program{b}
		// pick returns an ID made earlier, or a forged one.
		pick := func(ids []int) int {
			v := int(p.byte())
			if v < 0xf0 && len(ids) > 0 {
				return ids[v%len(ids)]
			}
			return v - 0xf0 + int(p.u16())<<seqShift
		}
		key := func() int32 { return int32(p.byte()%4) - 1 } // private, or one of three keys
		getFlags := func() int { return int(p.u16()) & (Creat | Excl | 0777) }
		for steps := 0; !p.done() && steps < 200; steps++ {
			op := p.byte()
			c := callers[op>>7]
			proc := procs[op>>7]
			switch op & 0x7f % 10 {
			case 0:
				id, err := ns.MsgGet(c, key(), getFlags())
				check("msgget", err)
				if err == nil {
					msgIDs = append(msgIDs, id)
				}
			case 1:
				id, typ, n, flags := pick(msgIDs), int64(int8(p.byte())), int(p.u16()), int(p.u16())
				if ns.MsgSizeOK(int64(n)) && typ >= 1 {
					check("msgsnd", ns.MsgSnd(c, id, typ, p.bytes(n), flags|NoWait))
				}
			case 2:
				id, size, typ, flags := pick(msgIDs), int64(p.u16()), int64(int8(p.byte())), int(p.u16())
				_, text, err := ns.MsgRcv(c, id, size, typ, flags&(linux.MSG_NOERROR|linux.MSG_EXCEPT|linux.MSG_COPY)|NoWait)
				check("msgrcv", err)
				if err == nil && int64(len(text)) > size {
					t.Fatalf("msgrcv of %d bytes returned %d", size, len(text))
				}
			case 3:
				id, cmd := pick(msgIDs), int(p.byte()%5)
				err := ns.MsgCtl(c, id, cmd, structure[linux.MsqidDS](p))
				check("msgctl", err)
			case 4:
				id, err := ns.SemGet(c, key(), int(p.u16()%600)-20, getFlags())
				check("semget", err)
				if err == nil {
					semIDs = append(semIDs, id)
				}
			case 5:
				id := pick(semIDs)
				ops := make([]SemBuf, 1+p.byte()%8)
				for i := range ops {
					ops[i] = SemBuf{Num: p.u16() % 16, Op: int16(p.u16()), Flags: int16(p.u16())&linux.SEM_UNDO | NoWait}
				}
				check("semop", ns.SemOp(c, proc, id, ops, -1))
			case 6:
				id, num, cmd, arg := pick(semIDs), int(p.byte()%12)-1, int(p.byte()%20), int32(p.u32())
				ds, vals := new(linux.SemidDS), []uint16(nil)
				switch cmd {
				case SET:
					ds = structure[linux.SemidDS](p)
				case linux.SETALL:
					n, err := ns.SemCount(id)
					if err != nil {
						continue
					}
					vals = make([]uint16, n)
					copy(abi.SliceBytes(vals), p.bytes(2*n))
				}
				v, _, err := ns.SemCtl(c, id, num, cmd, arg, ds, vals)
				check("semctl", err)
				if err == nil && cmd == linux.GETVAL && (v < 0 || v > linux.SEMVMX) {
					t.Fatalf("semaphore value %d", v)
				}
			case 7:
				size := uint64(p.u32())
				if p.byte()&1 != 0 {
					size = ^size
				}
				id, err := ns.ShmGet(c, key(), size, getFlags())
				check("shmget", err)
				if err == nil {
					shmIDs = append(shmIDs, id)
				}
			case 8:
				id, cmd := pick(shmIDs), int(p.byte()%14)
				err := ns.ShmCtl(c, id, cmd, structure[linux.ShmidDS](p))
				check("shmctl", err)
			case 9:
				ns.ExitProcess(proc, c.PID)
			}
		}
		root := callers[0]
		for _, id := range msgIDs {
			ns.MsgCtl(root, id, RMID, nil)
		}
		for _, id := range semIDs {
			ns.SemCtl(root, id, 0, RMID, 0, nil, nil)
		}
		for _, id := range shmIDs {
			ns.ShmCtl(root, id, RMID, nil)
		}
		for i, proc := range procs {
			ns.ExitProcess(proc, callers[i].PID)
		}
		if ns.msgBytes != 0 || ns.semCount != 0 || ns.shmPages != 0 || len(ns.undo) != 0 || mem.Used() != 0 {
			t.Fatalf("with every object removed: %d message bytes, %d semaphores, %d shm pages, %d undo lists, %d bytes charged",
				ns.msgBytes, ns.semCount, ns.shmPages, len(ns.undo), mem.Used())
		}
	})
}
