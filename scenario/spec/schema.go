package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// SchemaID is the $id of the JSON Schema of scenario files.
const SchemaID = "https://fleetsim.dev/schema/scenario.json"

// Schema returns the JSON Schema (draft 2020-12) of scenario files, for
// editors and CI. It is derived from the same types and tags as the
// decoder, so a file the decoder accepts in form fits the schema and the
// other way round (Validate's checks of meaning aside). The output is
// indented JSON with sorted keys, the same on every call.
func Schema() []byte {
	g := schemaGen{defs: make(map[string]any)}
	root := g.object(reflect.TypeFor[Scenario]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "fleetsim scenario"
	root["description"] = "A fleetsim scenario: fleets of simulated cellular devices on Super SIMs, driven through virtual time, with expectations checked as the run goes."
	root["$defs"] = g.defs
	b, err := json.MarshalIndent(root, "", "  ") // maps marshal with sorted keys
	if err != nil {
		panic(fmt.Sprintf("scenario: schema: %v", err))
	}
	return append(b, '\n')
}

// schemaGen builds a schema, one $defs entry per named struct and scalar
// type.
type schemaGen struct {
	defs map[string]any
}

// object is the schema of a struct type: its keys, from structFields.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	fields, _ := structFields(t)
	props := make(map[string]any, len(fields))
	required := []string{}
	for _, f := range fields {
		var p map[string]any
		if len(f.Enum) > 0 {
			p = map[string]any{"type": "string", "enum": f.Enum}
		} else {
			p = g.typ(f.Type)
		}
		if f.Doc != "" {
			p["description"] = f.Doc
		}
		props[f.Name] = p
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// typ is the schema of a value of type t: a new map, which the caller may
// add to.
func (g *schemaGen) typ(t reflect.Type) map[string]any {
	if isScalar(t) {
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = reflect.New(t).Interface().(scalar).schema()
		}
		return defRef(t.Name())
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.typ(t.Elem())
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = nil // taken, in case the type refers to itself
			g.defs[t.Name()] = g.object(t)
		}
		return defRef(t.Name())
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typ(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.typ(t.Elem())}
	case reflect.String:
		if _, ok := g.defs["Text"]; !ok {
			g.defs["Text"] = map[string]any{"type": []string{"string", "number", "boolean"},
				"description": "Text. A number or a boolean is taken as written: 26201 is the text 26201."}
		}
		return defRef("Text")
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	}
	panic(fmt.Sprintf("scenario: no schema for %s", t))
}

func defRef(name string) map[string]any { return map[string]any{"$ref": "#/$defs/" + name} }
