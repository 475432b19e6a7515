package htmlreport

import (
	"encoding/xml"
	"io"
	"regexp"
	"strings"
)

// node is an element of a parsed page, for the tests' assertions.
type node struct {
	tag      string
	attrs    map[string]string
	children []*node
	text     strings.Builder
}

var (
	scriptRE = regexp.MustCompile(`(?is)(<script\b[^>]*>).*?</script>`)
	styleRE  = regexp.MustCompile(`(?is)(<style\b[^>]*>).*?</style>`)
)

// parseDOM parses an HTML page (as written, or as Chromium serialises it)
// into a tree, leaving out the contents of its scripts and styles: the
// lenient XML decoder reads the rest, with HTML's void elements and entities.
func parseDOM(page string) (*node, error) {
	page = scriptRE.ReplaceAllString(page, "${1}</script>")
	page = styleRE.ReplaceAllString(page, "${1}</style>")
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	root := &node{tag: "#document"}
	stack := []*node{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{tag: strings.ToLower(t.Name.Local), attrs: map[string]string{}}
			for _, a := range t.Attr {
				n.attrs[strings.ToLower(a.Name.Local)] = a.Value
			}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			for _, n := range stack[1:] {
				n.text.Write(t)
			}
		}
	}
}

// all returns the elements under n (n included) that match.
func (n *node) all(match func(*node) bool) []*node {
	var out []*node
	var walk func(*node)
	walk = func(m *node) {
		if match(m) {
			out = append(out, m)
		}
		for _, c := range m.children {
			walk(c)
		}
	}
	walk(n)
	return out
}

// find returns the elements under n with a tag (any when "") and classes
// and attributes given as "class" or "attr=value".
func (n *node) find(tag string, want ...string) []*node {
	return n.all(func(m *node) bool {
		if tag != "" && m.tag != tag {
			return false
		}
		for _, w := range want {
			if k, v, ok := strings.Cut(w, "="); ok {
				if m.attrs[k] != v {
					return false
				}
			} else if !m.hasClass(w) {
				return false
			}
		}
		return true
	})
}

func (n *node) hasClass(c string) bool {
	for _, f := range strings.Fields(n.attrs["class"]) {
		if f == c {
			return true
		}
	}
	return false
}

func (n *node) Text() string { return strings.TrimSpace(n.text.String()) }

// pathPoints counts the points of an SVG path made of M and L commands.
func pathPoints(d string) int {
	return strings.Count(d, "M") + strings.Count(d, "L")
}
