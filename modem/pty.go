package modem

import (
	"fmt"
	"os"

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
	slave  *os.File
	path   string
}

// OpenPTY opens a pseudo-terminal in raw mode.
func OpenPTY() (*PTY, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	if err := makeRaw(int(slave.Fd())); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("setting %s to raw mode: %w", slave.Name(), err)
	}
	return &PTY{master: master, slave: slave, path: slave.Name()}, nil
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

// Close closes both ends; a Read in progress returns.
func (p *PTY) Close() error {
	err := p.master.Close()
	if serr := p.slave.Close(); err == nil {
		err = serr
	}
	return err
}
