package catalog

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Object is what the catalog index keeps of one catalog object file: its
// id, its name and the ids of the objects it refers to. Every field holds
// the trimmed text of a top-level element of the file; fields a kind does
// not have stay empty.
//
// References hold what the file says, normally an id such as
// "WorkspaceInfoImpl--570ae188:124761b8d78:-7ffd". Ids are unique across
// kinds, so a reference resolves by id alone. A reference that a person
// wrote by name (<workspace><name>topp</name></workspace>, which GeoServer
// also reads) is kept as that name.
type Object struct {
	Kind Kind
	ID   string
	// Name is <name>; for a namespace, which has none, its <prefix>
	// (GeoServer's NamespaceInfo.getName returns the prefix).
	Name string

	// Workspace is the <workspace> reference of stores, workspace styles
	// and workspace layer groups. Namespaces and layers name none: see
	// PathWorkspace.
	Workspace string
	// Namespace is the <namespace> reference of resources (feature types,
	// coverages, WMS and WMTS layers).
	Namespace string
	// Store is the <store> reference of resources.
	Store string
	// Resource is the <resource> reference of a layer: the feature type,
	// coverage, WMS or WMTS layer it publishes.
	Resource string
	// DefaultStyle is the <defaultStyle> reference of a layer.
	DefaultStyle string
	// Styles are the <styles> references. For a layer, its extra styles.
	// For a layer group they are positional: Styles[i] is the style of
	// Layers[i], "" (written <style/>) meaning that layer's default.
	Styles []string
	// Layers are the references of a layer group's <publishables> (or of
	// the <layers> that GeoServer before 2.3 wrote), in drawing order.
	// They are layers or layer groups; "" is an empty slot of a style
	// group, which draws Styles[i] without a layer.
	Layers []string
	// RootLayer and RootLayerStyle are a layer group's <rootLayer> and
	// <rootLayerStyle> references (mode EO).
	RootLayer      string
	RootLayerStyle string
	// GroupStyles are a layer group's alternative styles
	// (<layerGroupStyles>, GeoServer 2.21 and later).
	GroupStyles []GroupStyle

	// Type is a store's <type> (Shapefile, PostGIS, GeoTIFF, WMS), a
	// layer's <type> (VECTOR, RASTER, REMOTE, WMS, WMTS) or a layer group's
	// <mode> (SINGLE, NAMED, CONTAINER, EO, OPAQUE_CONTAINER).
	Type string
	// NativeName is a resource's <nativeName>: the table, file or remote
	// layer it reads.
	NativeName string
	// URI is a namespace's <uri>.
	URI string
	// Filename and Format are a style's <filename> (the style source,
	// relative to the style's folder) and <format> (sld if empty).
	Filename string
	Format   string
	// Enabled is <enabled> of stores, resources and layers; nil when the
	// element is absent or not a boolean.
	Enabled *bool
}

// GroupStyle is one alternative style of a layer group: a name and its own
// positional list of publishables and styles.
type GroupStyle struct {
	ID     string
	Name   string
	Layers []string
	Styles []string
}

// Ref is one reference from an object to another, by id.
type Ref struct {
	// Role says where the reference came from: "workspace", "namespace",
	// "store", "resource", "defaultStyle", "style", "layer" (a layer
	// group's publishable, a layer or a layer group), "rootLayer",
	// "rootLayerStyle", "groupStyleLayer" or "groupStyleStyle".
	Role string
	ID   string
}

// Refs lists the object's non-empty references, in a fixed order (the
// order of the fields of Object), duplicates included.
func (o *Object) Refs() []Ref {
	var refs []Ref
	add := func(role, id string) {
		if id != "" {
			refs = append(refs, Ref{Role: role, ID: id})
		}
	}
	add("workspace", o.Workspace)
	add("namespace", o.Namespace)
	add("store", o.Store)
	add("resource", o.Resource)
	add("defaultStyle", o.DefaultStyle)
	for _, id := range o.Styles {
		add("style", id)
	}
	for _, id := range o.Layers {
		add("layer", id)
	}
	add("rootLayer", o.RootLayer)
	add("rootLayerStyle", o.RootLayerStyle)
	for _, gs := range o.GroupStyles {
		for _, id := range gs.Layers {
			add("groupStyleLayer", id)
		}
		for _, id := range gs.Styles {
			add("groupStyleStyle", id)
		}
	}
	return refs
}

// ParseError says why a catalog file could not be indexed: it is not
// well-formed XML, its root element is not the one its kind has, or it has
// no id.
type ParseError struct {
	Kind Kind
	Line int // 1-based line of the problem; 0 if unknown
	Msg  string
	Err  error // the decoder's error, if the problem came from it
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("parse %s: line %d: %s", e.Kind, e.Line, e.Msg)
	}
	return fmt.Sprintf("parse %s: %s", e.Kind, e.Msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a catalog object file of the given kind (see Classify). It
// looks only at the top-level children of the root element, so a <name>
// inside <attributes> or an <id> inside <metadata> never counts, yet it
// reads the whole file, because a reference may come anywhere.
//
// A file that is not well-formed XML, whose root element is not the one
// its kind has (<dataStore> for KindDataStore), that repeats a
// single-valued element (<id>, <name>, <resource>, ...), or that has no
// <id> gives a *ParseError naming the
// problem and its line. The Object returned with an error holds what was
// read up to that point, Kind always set, so that the caller can still
// index and flag the file. A missing name is not an error.
//
// Parse does not retain data. It is safe for concurrent use.
func Parse(kind Kind, data []byte) (Object, error) {
	o := Object{Kind: kind}
	root := kind.Root()
	if root == "" {
		return o, &ParseError{Kind: kind, Msg: fmt.Sprintf("%q is not a catalog kind", string(kind))}
	}
	r := newReader(kind, data)
	start, err := r.root()
	if err != nil {
		return o, err
	}
	if start.Name.Local != root || start.Name.Space != "" {
		return o, r.errorf("root element is <%s>, want <%s>", qname(start.Name), root)
	}
	if err := r.fields(&o); err != nil {
		return o, err
	}
	if err := r.end(); err != nil {
		return o, err
	}
	if o.ID == "" {
		return o, &ParseError{Kind: kind, Msg: fmt.Sprintf("no <id> in <%s>", root)}
	}
	return o, nil
}

// root reads up to the root element's start.
func (r *reader) root() (xml.StartElement, error) {
	for {
		tok, err := r.next()
		if err == io.EOF {
			return xml.StartElement{}, r.errorf("no root element")
		}
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, r.errorf("text before the root element")
			}
		}
	}
}

// end reads what follows the root element: only white space, comments and
// processing instructions may.
func (r *reader) end() error {
	for {
		tok, err := r.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return r.errorf("second root element <%s>", qname(t.Name))
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return r.errorf("text after the root element")
			}
		}
	}
}

// fields reads the children of the root element up to its end.
func (r *reader) fields(o *Object) error {
	group := o.Kind == KindLayerGroup
	nameElem := "name"
	if o.Kind == KindNamespace {
		nameElem = "prefix"
	}
	var seen uint32 // bit n set: single-valued field n was read
	for {
		tok, err := r.next()
		if err != nil {
			return err
		}
		var t xml.StartElement
		switch tt := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			t = tt
		default:
			continue
		}
		// A single-valued field: where it goes, its bit in seen, and
		// whether it is a reference.
		var (
			dst   *string
			n     uint
			isRef bool
		)
		switch local := t.Name.Local; {
		case t.Name.Space != "":
			// GeoServer writes no namespaces; not one of ours.
		case local == "id":
			dst, n = &o.ID, 0
		case local == nameElem:
			dst, n = &o.Name, 1
		case local == "workspace":
			dst, n, isRef = &o.Workspace, 2, true
		case local == "namespace":
			dst, n, isRef = &o.Namespace, 3, true
		case local == "store":
			dst, n, isRef = &o.Store, 4, true
		case local == "resource":
			dst, n, isRef = &o.Resource, 5, true
		case local == "defaultStyle":
			dst, n, isRef = &o.DefaultStyle, 6, true
		case local == "rootLayer":
			dst, n, isRef = &o.RootLayer, 7, true
		case local == "rootLayerStyle":
			dst, n, isRef = &o.RootLayerStyle, 8, true
		case local == "type" && !group, local == "mode" && group:
			dst, n = &o.Type, 9
		case local == "nativeName":
			dst, n = &o.NativeName, 10
		case local == "uri":
			dst, n = &o.URI, 11
		case local == "filename":
			dst, n = &o.Filename, 12
		case local == "format":
			dst, n = &o.Format, 13
		case local == "enabled":
			s, err := r.text()
			if err != nil {
				return err
			}
			o.Enabled = parseBool(s)
			continue
		case local == "styles":
			if o.Styles, err = r.refs(o.Styles, group); err != nil {
				return err
			}
			continue
		case group && (local == "publishables" || local == "layers"):
			if o.Layers, err = r.refs(o.Layers, true); err != nil {
				return err
			}
			continue
		case group && local == "layerGroupStyles":
			if o.GroupStyles, err = r.groupStyles(); err != nil {
				return err
			}
			continue
		}
		if dst == nil {
			if err := r.skip(); err != nil {
				return err
			}
			continue
		}
		if seen&(1<<n) != 0 {
			return r.errorf("more than one <%s> in <%s>", t.Name.Local, o.Kind.Root())
		}
		seen |= 1 << n
		if isRef {
			*dst, err = r.ref()
		} else {
			*dst, err = r.text()
		}
		if err != nil {
			return err
		}
	}
}

// groupStyles reads <layerGroupStyles>: one child per style, each with an
// <id>, a <name> (written <name><name>N</name></name>), <layers> and
// <styles>.
func (r *reader) groupStyles() ([]GroupStyle, error) {
	var list []GroupStyle
	for {
		tok, err := r.next()
		if err != nil {
			return list, err
		}
		switch tok.(type) {
		case xml.EndElement:
			return list, nil
		case xml.StartElement:
			gs, err := r.groupStyle()
			list = append(list, gs)
			if err != nil {
				return list, err
			}
		}
	}
}

func (r *reader) groupStyle() (GroupStyle, error) {
	var gs GroupStyle
	for {
		tok, err := r.next()
		if err != nil {
			return gs, err
		}
		var t xml.StartElement
		switch tt := tok.(type) {
		case xml.EndElement:
			return gs, nil
		case xml.StartElement:
			t = tt
		default:
			continue
		}
		switch t.Name.Local {
		case "id":
			gs.ID, err = r.text()
		case "name":
			gs.Name, err = r.ref()
		case "layers", "publishables":
			gs.Layers, err = r.refs(gs.Layers, true)
		case "styles":
			gs.Styles, err = r.refs(gs.Styles, true)
		default:
			err = r.skip()
		}
		if err != nil {
			return gs, err
		}
	}
}

// parseBool reads a boolean as XStream writes it.
func parseBool(s string) *bool {
	var b bool
	switch {
	case strings.EqualFold(s, "true"):
		b = true
	case strings.EqualFold(s, "false"):
	default:
		return nil
	}
	return &b
}
