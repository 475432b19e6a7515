package modem

import (
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal a modem is exposed on: the modem reads and
// writes the master; a host program opens the slave path as it would a
// module's UART. The simulator keeps a slave descriptor open itself, so a
// host can close and reopen the port any number of times without the
// master seeing a hang-up.
type PTY struct {
	master *os.File
	raw    syscall.RawConn // the master's descriptor, for non-blocking writes
	try    ptyTry
	slave  *os.File
	path   string
}

// OpenPTY opens a pseudo-terminal in raw mode.
func OpenPTY() (*PTY, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	if master, err = pollable(master); err != nil {
		slave.Close()
		return nil, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	if err := makeRaw(int(slave.Fd())); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("setting %s to raw mode: %w", slave.Name(), err)
	}
	raw, err := master.SyscallConn()
	if err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	p := &PTY{master: master, raw: raw, slave: slave, path: slave.Name()}
	p.try.write = p.try.do
	return p, nil
}

// pollable returns f's descriptor in non-blocking mode, served by the
// runtime's poller, and closes f. pty.Open leaves the master blocking (it
// reads the slave's number through Fd), so that every modem waiting for
// input would hold an OS thread, and closing the master would not end a
// Read in progress.
func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	name := f.Name()
	f.Close()
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// makeRaw is cfmakeraw(3): no echo, no line editing, no signals, 8 bits.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// Path is the slave's path, e.g. /dev/pts/7.
func (p *PTY) Path() string { return p.path }

// Read reads what the host wrote.
func (p *PTY) Read(b []byte) (int, error) { return p.master.Read(b) }

// Write writes to the host.
func (p *PTY) Write(b []byte) (int, error) { return p.master.Write(b) }

// tryWrite writes what fits without waiting for the host to read. It
// returns errWouldBlock when nothing fits.
func (p *PTY) tryWrite(b []byte) (int, error) {
	p.try.mu.Lock()
	defer p.try.mu.Unlock()
	t := &p.try
	t.b, t.n, t.err = b, 0, nil
	err := p.raw.Write(t.write)
	n, werr := t.n, t.err
	t.b, t.err = nil, nil
	if err != nil {
		return n, err
	}
	return n, werr
}

// ptyTry is the state of a non-blocking write, kept in the PTY so that a
// write does not allocate.
type ptyTry struct {
	mu    sync.Mutex
	write func(fd uintptr) bool // (*ptyTry).do, bound once
	b     []byte
	n     int
	err   error
}

func (t *ptyTry) do(fd uintptr) bool {
	for t.n < len(t.b) {
		m, err := unix.Write(int(fd), t.b[t.n:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && t.n > 0:
		case err == unix.EAGAIN:
			t.err = errWouldBlock
		case err != nil:
			t.err = err
		default:
			t.n += m
			continue
		}
		break
	}
	return true
}

// Close closes both ends; a Read in progress returns.
func (p *PTY) Close() error {
	err := p.master.Close()
	if serr := p.slave.Close(); err == nil {
		err = serr
	}
	return err
}
