package hw

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
)

// Where a command that prompts for data is (Client.prompt).
const (
	promptIdle    uint32 = iota // no such command
	promptAwaited               // sent: a '>' or '@' at a line start is its prompt
	promptSeen                  // the prompt came
)

// escByte cancels a prompt: the module drops what was typed (27.005 §3.5.1).
const escByte = 0x1b

// Send runs a command that prompts for data: AT+CMGS in text or PDU mode
// ("> "), Quectel's AT+QISEND and SIMCom's AT+CASEND ("> "), u-blox's
// AT+USOST ("@"). It sends the command line, waits for the prompt, writes
// data exactly as given (an SMS ends with Ctrl-Z, 0x1A, which the caller
// adds; a socket send takes the bytes it announced) and returns the
// information lines and the final result as Command does. Quectel's SEND OK
// ends the command as OK, SEND FAIL as ErrError. Without the prompt within
// the command's timeout, the client sends ESC, which a module waiting for
// data takes as "cancel", fails with ErrTimeout and resynchronises before
// the next command.
func (c *Client) Send(ctx context.Context, cmd string, data []byte, opts ...CmdOption) ([]string, error) {
	return c.run(ctx, cmd, opts, func(cmd string, timeout time.Duration) ([]string, error) {
		return c.prompted(ctx, cmd, data, timeout)
	})
}

// prompted runs one prompting command. The reader hands it the command's
// lines as it does the probes' (Client.sync), indications going to the
// handlers as usual.
func (c *Client) prompted(ctx context.Context, cmd string, data []byte, timeout time.Duration) ([]string, error) {
	cn, err := c.current()
	if err != nil {
		return nil, err
	}
	ch := make(chan string, 256)
	c.mu.Lock()
	c.sync, c.syncID = ch, cmdID(cmd)
	c.mu.Unlock()
	c.prompt.Store(promptAwaited)
	defer func() {
		c.prompt.Store(promptIdle)
		c.mu.Lock()
		c.sync = nil
		c.mu.Unlock()
	}()
	if _, err := c.write(cn, []byte("AT"+cmd+"\r")); err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	var info []string
	prompted := false
	resync := func() {
		c.mu.Lock()
		c.needSync = true
		c.mu.Unlock()
	}
	for {
		select {
		case line := <-ch:
			switch {
			case !prompted && (line == ">" || line == "@"):
				prompted = true
				if _, err := c.write(cn, data); err != nil {
					return info, err
				}
			case line == "SEND OK":
				return info, nil
			case line == "SEND FAIL":
				return info, ErrError
			case final(line, "") != notFinal:
				return info, finalErr(line)
			default:
				info = append(info, line)
			}
		case <-t.C:
			if !prompted {
				_, _ = c.write(cn, []byte{escByte})
			}
			resync()
			c.tr.note("timeout AT%s after %v", cmd, timeout)
			return info, fmt.Errorf("%w after %v", ErrTimeout, timeout)
		case <-cn.done:
			return info, ErrDisconnected
		case <-ctx.Done():
			resync()
			return info, ctx.Err()
		}
	}
}

// finalErr is the error of a final result line: nil for OK, a *CMEError
// or *CMSError, ErrError for ERROR.
func finalErr(line string) error {
	err := at3gpp.FinalError(line)
	var cme *CMEError
	var cms *CMSError
	if err == nil || errors.As(err, &cme) || errors.As(err, &cms) {
		return err
	}
	return ErrError
}
