package scenario

import (
	"bytes"
	"encoding/hex"
	"strings"
)

// simSids holds each device's Sim SID. A SID of the form the control
// plane makes, "HS" and 32 lower-case hex digits, is kept as its 16 bytes
// (16 bytes a device, where a string took 16 for its header and 48 for its
// bytes); any other SID (a remote API's could be) is kept as text beside
// them. A device without a SID reads "".
type simSids struct {
	b     [][16]byte
	other map[int]string // SIDs not of the compact form, and all-zero ones
}

func newSimSids(n int) simSids { return simSids{b: make([][16]byte, n)} }

func (s *simSids) len() int { return len(s.b) }

// parseSimSid returns the 16 bytes of a compact SID.
func parseSimSid(sid string) ([16]byte, bool) {
	var b [16]byte
	if len(sid) != 34 || sid[:2] != "HS" {
		return b, false
	}
	for i := 2; i < 34; i++ {
		if c := sid[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return b, false
		}
	}
	_, _ = hex.Decode(b[:], []byte(sid[2:]))
	return b, b != [16]byte{}
}

// set makes sid the SID of device i.
func (s *simSids) set(i int, sid string) {
	b, ok := parseSimSid(sid)
	s.b[i] = b
	switch {
	case !ok && sid != "":
		if s.other == nil {
			s.other = make(map[int]string)
		}
		s.other[i] = sid
	case s.other != nil:
		delete(s.other, i)
	}
}

// get returns the SID of device i.
func (s *simSids) get(i int) string {
	if s.b[i] == ([16]byte{}) {
		return s.other[i]
	}
	return string(s.append(nil, i))
}

// append appends the SID of device i to buf: a map lookup by
// string(s.append(buf[:0], i)) makes no string.
func (s *simSids) append(buf []byte, i int) []byte {
	if s.b[i] == ([16]byte{}) {
		return append(buf, s.other[i]...)
	}
	buf = append(buf, "HS"...)
	return hex.AppendEncode(buf, s.b[i][:])
}

// compare orders devices by their SIDs as strings: the bytes of two
// compact SIDs order as their hex digits do.
func (s *simSids) compare(a, b int) int {
	if s.b[a] != ([16]byte{}) && s.b[b] != ([16]byte{}) {
		return bytes.Compare(s.b[a][:], s.b[b][:])
	}
	return strings.Compare(s.get(a), s.get(b))
}

// compareTo orders device i's SID against sid, whose compact form, if it
// has one, is b (ok).
func (s *simSids) compareTo(i int, sid string, b [16]byte, ok bool) int {
	if ok && s.b[i] != ([16]byte{}) {
		return bytes.Compare(s.b[i][:], b[:])
	}
	return strings.Compare(s.get(i), sid)
}
