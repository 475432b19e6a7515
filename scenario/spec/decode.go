package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits on what the decoder accepts, so that no file makes it hang or
// exhaust memory.
const (
	maxFileSize = 8 << 20 // bytes
	// maxNodes bounds the YAML values of a document, counted once the
	// aliases are expanded (so a "billion laughs" stops here), and the
	// values a file may hold before it is even parsed.
	maxNodes = 500_000
	// maxErrors is how many problems one file reports at most.
	maxErrors = 100
)

// Error is one problem of a scenario file, at a place in it.
type Error struct {
	File         string
	Line, Column int    // 1-based; 0 when unknown
	Path         string // the field, e.g. devices[1].power_on.spread; empty for the whole file
	Msg          string

	err error // the cause, if any, for errors.Is and errors.As
}

// Unwrap returns the cause of the problem, if it is an error.
func (e *Error) Unwrap() error { return e.err }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a file, in the order they appear in
// it. errors.As finds each *Error in it.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives errors.Is and errors.As the single errors.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// sort orders the list by position, keeping the order of problems found at
// the same place.
func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

// err returns l as an error: nil when it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Load reads and decodes a scenario file. It checks the form of the file
// (keys, types, required keys, enumerations) but not its meaning: see
// Defaults and Validate, or LoadValid for all three.
func Load(file string) (*Scenario, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// intErr reports an integer that could not be read, and whether it could.
func (d *decoder) intErr(n *yaml.Node, path string, err error, bad func()) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errRange):
		d.errorf(n, path, "integer %s is out of range", n.Value)
	default:
		bad()
	}
	return false
}

// readFile reads a scenario file, up to one byte past the size limit so
// that Parse can say it is too large.
func readFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// Parse decodes a scenario from data, read from file (used in messages
// only). The error, if any, is an ErrorList.
func Parse(file string, data []byte) (*Scenario, error) {
	s, err, _ := parsePartial(file, data)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parsePartial is Parse that also returns what could be decoded when some
// values were wrong, and whether that partial scenario is worth
// validating (the YAML itself was well formed and within limits).
func parsePartial(file string, data []byte) (*Scenario, error, bool) {
	root, errs := parseYAML(file, data)
	if errs != nil {
		return nil, errs, false
	}
	s := &Scenario{File: file}
	d := &decoder{file: file, infos: make(map[reflect.Type]*structInfo), reported: make(map[errorKey]bool)}
	d.decode(root, reflect.ValueOf(s).Elem(), "", nil)
	if err := d.result(); err != nil {
		return s, err, !d.over && d.dropped == 0
	}
	return s, nil, true
}

// parseYAML turns data into the root node of its single document.
func parseYAML(file string, data []byte) (*yaml.Node, ErrorList) {
	fail := func(line, col int, format string, args ...any) (*yaml.Node, ErrorList) {
		return nil, ErrorList{{File: file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}}
	}
	if len(data) > maxFileSize {
		return fail(0, 0, "file is larger than %d MiB", maxFileSize>>20)
	}
	if line, col, msg := checkText(data); msg != "" {
		return fail(line, col, "%s", msg)
	}
	if n := estimateNodes(data); n > maxNodes {
		return fail(0, 0, "file holds too many values (about %d, at most %d allowed)", n, maxNodes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := decodeNode(dec, &doc); {
	case errors.Is(err, io.EOF):
		return fail(1, 1, "file is empty: want a scenario with at least duration and devices")
	case err != nil:
		return nil, ErrorList{syntaxError(file, data, err)}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return fail(1, 1, "file is empty: want a scenario with at least duration and devices")
	}
	var extra yaml.Node
	switch err := decodeNode(dec, &extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, ErrorList{syntaxError(file, data, err)}
	default:
		line, col := extra.Line, extra.Column
		if len(extra.Content) > 0 {
			line, col = extra.Content[0].Line, extra.Content[0].Column
		}
		return fail(line, col, "a second YAML document: a scenario file holds exactly one")
	}
	return doc.Content[0], nil
}

// decodeNode reads the next document, turning a panic of the YAML library
// into an error.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: internal error: %v", r)
		}
	}()
	return dec.Decode(n)
}

// checkText finds the first byte that cannot be in a YAML file: invalid
// UTF-8 or a control character.
func checkText(data []byte) (line, col int, msg string) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, "file is not UTF-8 text"
		case r == '\n':
			line, col = line+1, 0
		case r == '\t', r == '\r', r == 0x85, r == 0xFEFF && i == 0:
		case r < 0x20, r == 0x7F, r >= 0x80 && r < 0xA0, r >= 0xD800 && r < 0xE000, r == 0xFFFE, r == 0xFFFF:
			return line, col, fmt.Sprintf("control character %U is not allowed", r)
		}
		i += size
		col++
	}
	return 0, 0, ""
}

// estimateNodes bounds from above the number of values a YAML text makes:
// every value but the first needs one of these bytes before it.
func estimateNodes(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case '\n', ',', '-', ':', '?', '[', '{', '*':
			n++
		}
	}
	return 2*n + 2
}

var (
	yamlLineRe    = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchorRe  = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
	yamlParserMsg = []string{ // messages of the parser, which reports 0-based lines
		"did not find expected <stream-start>",
		"did not find expected <document start>",
		"did not find expected node content",
		"did not find expected '-' indicator",
		"did not find expected key",
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found duplicate %TAG directive",
		"found undefined tag handle",
	}
)

// syntaxError turns an error of the YAML library into an *Error at the
// line it names.
func syntaxError(file string, data []byte, err error) *Error {
	e := &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
		if slices.Contains(yamlParserMsg, m[2]) {
			e.Line++
		}
	} else if slices.Contains(yamlParserMsg, strings.TrimPrefix(err.Error(), "yaml: ")) {
		e.Line = 1
	} else if m := yamlAnchorRe.FindStringSubmatch(err.Error()); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			e.Line = 1 + bytes.Count(data[:i], []byte("\n"))
			e.Column = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
	}
	return e
}

// specField is one key of a struct of the file format.
type specField struct {
	Name     string // the YAML key
	Index    []int  // for reflect.Value.FieldByIndex, through inline structs
	Type     reflect.Type
	Doc      string
	Required bool
	Enum     []string
}

var (
	posType    = reflect.TypeFor[Pos]()
	scalarType = reflect.TypeFor[scalar]()
)

// isScalar reports whether values of t are written as one scalar and parsed
// by the type itself.
func isScalar(t reflect.Type) bool {
	return t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(scalarType)
}

// structFields lists the keys of struct type t in declaration order, the
// keys of inline structs in place, and where t's Pos fields are (its own or
// an inline struct's). The decoder and the schema both work from it.
func structFields(t reflect.Type) (fields []specField, pos [][]int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case sf.Type == posType:
			pos = append(pos, []int{i})
			continue
		case !sf.IsExported() || tag == "-":
			continue
		case opts == "inline":
			if sf.Type.Kind() != reflect.Struct {
				panic(fmt.Sprintf("scenario: inline field %s.%s is not a struct", t.Name(), sf.Name))
			}
			inner, innerPos := structFields(sf.Type)
			for _, f := range inner {
				f.Index = append([]int{i}, f.Index...)
				fields = append(fields, f)
			}
			for _, p := range innerPos {
				pos = append(pos, append([]int{i}, p...))
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		f := specField{Name: name, Index: []int{i}, Type: sf.Type, Doc: sf.Tag.Get("doc"), Required: sf.Tag.Get("required") == "true"}
		if e := sf.Tag.Get("enum"); e != "" {
			f.Enum = strings.Split(e, ",")
		}
		fields = append(fields, f)
	}
	for i := range fields {
		for j := range i {
			if fields[i].Name == fields[j].Name {
				panic(fmt.Sprintf("scenario: %s has two fields named %q", t.Name(), fields[i].Name))
			}
		}
	}
	return fields, pos
}

// structInfo is structFields' answer, indexed.
type structInfo struct {
	fields []specField
	pos    [][]int
	byName map[string]int
	names  []string
}

// decoder walks a YAML node tree into the tagged structs, collecting every
// problem.
type decoder struct {
	file     string
	infos    map[reflect.Type]*structInfo
	errs     ErrorList
	reported map[errorKey]bool
	dropped  int  // problems found past maxErrors
	nodes    int  // values visited, aliases expanded
	over     bool // nodes went past maxNodes: stop
}

// errorKey identifies a problem, so that a value reached through several
// aliases is reported once: its place, its key (without the indexes that
// differ from one alias to the next) and the message.
type errorKey struct {
	line, col int
	key, msg  string
}

func (d *decoder) info(t reflect.Type) *structInfo {
	if si, ok := d.infos[t]; ok {
		return si
	}
	fields, pos := structFields(t)
	si := &structInfo{fields: fields, pos: pos, byName: make(map[string]int, len(fields))}
	for i, f := range fields {
		si.byName[f.Name] = i
		si.names = append(si.names, f.Name)
	}
	d.infos[t] = si
	return si
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if d.over {
		return
	}
	msg := fmt.Sprintf(format, args...)
	key := path[strings.LastIndexByte(path, '.')+1:]
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	k := errorKey{n.Line, n.Column, key, msg}
	if d.reported[k] {
		return
	}
	d.reported[k] = true
	if len(d.errs) >= maxErrors {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Column: n.Column, Path: path, Msg: msg})
}

func (d *decoder) result() error {
	if d.over {
		return d.errs[len(d.errs)-1:]
	}
	d.errs.sort()
	if d.dropped > 0 {
		last := d.errs[len(d.errs)-1]
		d.errs = append(d.errs, &Error{File: d.file, Line: last.Line, Column: last.Column, Msg: fmt.Sprintf("too many problems: %d more not shown", d.dropped)})
	}
	return d.errs.err()
}

// visit counts n; it reports false once the document is too large.
func (d *decoder) visit(n *yaml.Node, path string, count int) bool {
	if d.over {
		return false
	}
	d.nodes += count
	if d.nodes > maxNodes {
		d.over = true
		d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Column: n.Column, Path: path,
			Msg: fmt.Sprintf("document too large: more than %d values once aliases are expanded", maxNodes)})
		return false
	}
	return true
}

// resolve follows aliases; nil means stop.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > 100 {
			d.errorf(n, path, "alias *%s leads nowhere", n.Value)
			return nil
		}
		n = n.Alias
	}
	if !d.visit(n, path, 1) {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// joinPath appends a key to a field path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode stores n in v. enum, when set, lists the values a string may take.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, enum []string) {
	if n = d.resolve(n, path); n != nil {
		d.value(n, v, path, enum)
	}
}

// value is decode once n is resolved and counted.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, enum []string) {
	t := v.Type()
	if isNull(n) {
		d.errorf(n, path, "want %s, got nothing", describeType(t, enum))
		return
	}
	if isScalar(t) {
		d.scalar(n, v.Addr().Interface().(scalar), path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		e := reflect.New(t.Elem())
		d.value(n, e.Elem(), path, enum)
		v.Set(e)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "want a list, got %s", describeNode(n))
			return
		}
		if d.nodes+len(n.Content) > maxNodes { // allocate only what can be visited
			d.visit(n, path, len(n.Content))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), nil)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "want a mapping, got %s", describeNode(n))
			return
		}
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("scenario: map key of %s is not a string", t))
		}
		m := reflect.MakeMap(t)
		for _, p := range d.pairs(n, path, 0) {
			e := reflect.New(t.Elem()).Elem()
			d.decode(p.val, e, joinPath(path, p.key), nil)
			m.SetMapIndex(reflect.ValueOf(p.key).Convert(t.Key()), e)
		}
		v.Set(m)
	default:
		d.leaf(n, v, path, enum)
	}
}

// keyValue is one key of a mapping and its value.
type keyValue struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// maxMergeDepth bounds merges (<<) of mappings that merge others.
const maxMergeDepth = 10

// pairs lists the keys of mapping n: those written in it, then those merged
// in with "<<" that it does not write (the first merged mapping wins). It
// reports duplicate keys and keys that are not scalars.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []keyValue {
	var out []keyValue
	seen := make(map[string]*yaml.Node)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i], path)
		if k == nil {
			return nil
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, n.Content[i+1])
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(k, path, "want a key, got %s", describeNode(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, joinPath(path, k.Value), "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, keyValue{key: k.Value, keyNode: k, val: n.Content[i+1]})
	}
	for _, m := range merges {
		if depth >= maxMergeDepth {
			d.errorf(m, path, "merges (<<) nested too deeply")
			break
		}
		if m = d.resolve(m, path); m == nil {
			return nil
		}
		items := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			items = m.Content
		}
		for _, it := range items {
			if m.Kind == yaml.SequenceNode {
				if it = d.resolve(it, path); it == nil {
					return nil
				}
			}
			if it.Kind != yaml.MappingNode {
				d.errorf(it, path, "want a mapping or a list of mappings to merge (<<), got %s", describeNode(it))
				continue
			}
			for _, p := range d.pairs(it, path, depth+1) {
				if _, dup := seen[p.key]; !dup {
					seen[p.key] = p.keyNode
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// structure decodes mapping n into struct v.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping, got %s", describeNode(n))
		return
	}
	si := d.info(v.Type())
	var positions []*Pos
	for _, ix := range si.pos {
		p := v.FieldByIndex(ix).Addr().Interface().(*Pos)
		*p = Pos{Line: n.Line, Column: n.Column}
		positions = append(positions, p)
	}
	written := make([]bool, len(si.fields))
	pairs := d.pairs(n, path, 0)
	if d.over {
		return
	}
	for _, p := range pairs {
		i, ok := si.byName[p.key]
		if !ok {
			if s := suggest(p.key, si.names); s != "" {
				d.errorf(p.keyNode, joinPath(path, p.key), "unknown key, did you mean %q?", s)
			} else {
				d.errorf(p.keyNode, joinPath(path, p.key), "unknown key; valid keys are %s", strings.Join(si.names, ", "))
			}
			continue
		}
		written[i] = true
		f := si.fields[i]
		for _, pos := range positions {
			pos.setKey(p.key, Pos{Line: p.val.Line, Column: p.val.Column})
		}
		if list := p.val; f.Type.Kind() == reflect.Slice && list.Kind == yaml.SequenceNode {
			for j, item := range list.Content { // for messages about one element (not for an alias's)
				for _, pos := range positions {
					pos.setKey(p.key+"["+strconv.Itoa(j)+"]", Pos{Line: item.Line, Column: item.Column})
				}
			}
		}
		d.decode(p.val, v.FieldByIndex(f.Index), joinPath(path, f.Name), f.Enum)
		if d.over {
			return
		}
	}
	for i, f := range si.fields {
		if f.Required && !written[i] {
			d.errorf(n, joinPath(path, f.Name), "required key is missing")
		}
	}
}

// leaf decodes a scalar into a string, bool or number.
func (d *decoder) leaf(n *yaml.Node, v reflect.Value, path string, enum []string) {
	t := v.Type()
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want %s, got %s", describeType(t, enum), describeNode(n))
		return
	}
	tag := n.ShortTag()
	bad := func() { d.errorf(n, path, "want %s, got %s", describeType(t, enum), describeNode(n)) }
	switch t.Kind() {
	case reflect.String:
		if len(enum) > 0 && !slices.Contains(enum, n.Value) {
			if s := suggest(n.Value, enum); s != "" {
				d.errorf(n, path, "want %s, got %s; did you mean %q?", describeType(t, enum), describeNode(n), s)
			} else {
				bad()
			}
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		switch {
		case tag == "!!bool" && strings.EqualFold(n.Value, "true"):
			v.SetBool(true)
		case tag == "!!bool" && strings.EqualFold(n.Value, "false"):
			v.SetBool(false)
		default:
			bad()
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := intValue(n)
		if err == nil && v.OverflowInt(i) {
			err = errRange
		}
		if d.intErr(n, path, err, bad) {
			v.SetInt(i)
		}
	case reflect.Uint64, reflect.Uint, reflect.Uint32:
		u, err := uintValue(n)
		if err == nil && v.OverflowUint(u) {
			err = errRange
		}
		if d.intErr(n, path, err, bad) {
			v.SetUint(u)
		}
	case reflect.Float64:
		if tag != "!!int" && tag != "!!float" {
			bad()
			return
		}
		f, err := floatValue(n)
		if err != nil {
			bad()
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("scenario: cannot decode into %s", t))
	}
}

var errRange = errors.New("out of range")

func intValue(n *yaml.Node) (int64, error) {
	switch n.ShortTag() {
	case "!!int":
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil && errors.Is(err, strconv.ErrRange) {
			return 0, errRange
		}
		return i, err
	case "!!float":
		f, err := floatValue(n)
		switch {
		case err != nil || f != math.Trunc(f):
			return 0, errors.New("not an integer")
		case f < -(1<<63) || f >= 1<<63:
			return 0, errRange
		}
		return int64(f), nil
	}
	return 0, errors.New("not an integer")
}

func uintValue(n *yaml.Node) (uint64, error) {
	switch n.ShortTag() {
	case "!!int":
		u, err := strconv.ParseUint(n.Value, 0, 64)
		if err != nil && errors.Is(err, strconv.ErrRange) {
			return 0, errRange
		}
		return u, err
	case "!!float":
		f, err := floatValue(n)
		switch {
		case err != nil || f < 0 || f != math.Trunc(f):
			return 0, errors.New("not an integer")
		case f >= 1<<64:
			return 0, errRange
		}
		return uint64(f), nil
	}
	return 0, errors.New("not an integer")
}

func floatValue(n *yaml.Node) (float64, error) {
	var f float64
	switch n.ShortTag() {
	case "!!int":
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(n.Value, 0, 64)
			if uerr != nil {
				return 0, err
			}
			return float64(u), nil
		}
		return float64(i), nil
	case "!!float":
		var err error
		switch strings.ToLower(n.Value) {
		case ".nan", ".inf", "+.inf", "-.inf":
			return 0, errors.New("not a finite number")
		}
		f, err = strconv.ParseFloat(n.Value, 64)
		if err != nil {
			return 0, err
		}
		return f, nil
	}
	return 0, errors.New("not a number")
}

// scalar decodes n with the type's own parser.
func (d *decoder) scalar(n *yaml.Node, p scalar, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want %s, got %s", describeScalar(p), describeNode(n))
		return
	}
	text := n.Value
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
	case "!!int", "!!float":
		f, err := floatValue(n)
		switch kind := schemaNumber(p.schema()); {
		case kind == "", err != nil, kind == "integer" && f != math.Trunc(f):
			d.errorf(n, path, "want %s, got %s", describeScalar(p), describeNode(n))
			return
		}
		text = strconv.FormatFloat(f, 'f', -1, 64) // in decimal, as JSON has it
	default:
		d.errorf(n, path, "want %s, got %s", describeScalar(p), describeNode(n))
		return
	}
	if err := p.parse(text); err != nil {
		d.errorf(n, path, "%v", err)
	}
}

// schemaNumber says whether a scalar's schema allows a "number", an
// "integer" or neither ("").
func schemaNumber(s map[string]any) string {
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []string:
		types = t
	}
	switch {
	case slices.Contains(types, "number"):
		return "number"
	case slices.Contains(types, "integer"):
		return "integer"
	}
	return ""
}

// describeScalar is what a scalar type wants, from its schema: "a duration
// such as 90s, 1h30m or 2d".
func describeScalar(p scalar) string {
	desc, _ := p.schema()["description"].(string)
	if desc == "" {
		return "a value"
	}
	desc = strings.TrimSuffix(desc, ".")
	return strings.ToLower(desc[:1]) + desc[1:]
}

// describeType says what a value of type t is.
func describeType(t reflect.Type, enum []string) string {
	if isScalar(t) {
		return describeScalar(reflect.New(t).Interface().(scalar))
	}
	if len(enum) > 0 {
		return "one of " + strings.Join(enum, ", ")
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem(), enum)
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "a non-negative integer"
	case reflect.Float64:
		return "a number"
	}
	return t.String()
}

// describeNode says what n is, for messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!str", "!!timestamp":
			v := n.Value
			if utf8.RuneCountInString(v) > 40 {
				v = string([]rune(v)[:40]) + "…"
			}
			return strconv.Quote(v)
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return v
	}
	return "an unknown kind of value"
}

// maxSuggest bounds the candidates suggest looks at, so that many unknown
// names among many known ones cannot make it slow.
const maxSuggest = 1000

// suggest returns the candidate closest to word, if one is close enough to
// be what was meant.
func suggest(word string, candidates []string) string {
	if len(candidates) > maxSuggest || len(word) > 64 {
		return ""
	}
	best, bestDist := "", 0
	for _, c := range candidates {
		if strings.EqualFold(c, word) {
			return c
		}
		limit := 0 // typos allowed: none in a word of 2 letters, 3 in one of 9
		switch n := min(len(c), len(word)); {
		case n > 8:
			limit = 3
		case n > 5:
			limit = 2
		case n > 2:
			limit = 1
		}
		if len(c)-len(word) > limit || len(word)-len(c) > limit {
			continue
		}
		if dist := editDistance(strings.ToLower(word), strings.ToLower(c)); dist <= limit && (best == "" || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
