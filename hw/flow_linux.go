package hw

import "golang.org/x/sys/unix"

// flowControl is a second descriptor of a tty, opened before
// go.bug.st/serial takes the port for exclusive use, through which the
// client sets termios flags the library has no setting for. Termios
// belongs to the tty, not to a descriptor, so the port sees the change.
type flowControl struct{ fd int }

func openFlowControl(path string) (*flowControl, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &flowControl{fd: fd}, nil
}

// enable turns RTS/CTS flow control on.
func (f *flowControl) enable() error {
	t, err := unix.IoctlGetTermios(f.fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Cflag |= unix.CRTSCTS
	return unix.IoctlSetTermios(f.fd, unix.TCSETS, t)
}

func (f *flowControl) close() { unix.Close(f.fd) }
