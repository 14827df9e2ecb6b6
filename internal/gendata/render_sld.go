package gendata

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// sldw writes an SLD 1.0 document. With p = "sld:" it spells elements the
// way GeoServer re-encodes an uploaded style; with p = "" as people write
// them by hand.
type sldw struct {
	xw
	p string
}

func (w *sldw) open(name string, attrs ...string) { w.xw.open(w.el(name), attrs...) }
func (w *sldw) close(name string)                 { w.xw.close(w.el(name)) }
func (w *sldw) leaf(name, text string, attrs ...string) {
	w.xw.leaf(w.el(name), text, attrs...)
}

// el prefixes SLD element names; ogc: and other qualified names stay.
func (w *sldw) el(name string) string {
	if strings.Contains(name, ":") {
		return name
	}
	return w.p + name
}

func (w *sldw) css(name, value string) { w.leaf("CssParameter", value, "name", name) }

func (w *sldw) header(name, title, abstract string) {
	w.b = append(w.b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"...)
	if w.p == "" {
		w.open("StyledLayerDescriptor", "version", "1.0.0",
			"xsi:schemaLocation", "http://www.opengis.net/sld StyledLayerDescriptor.xsd",
			"xmlns", "http://www.opengis.net/sld",
			"xmlns:ogc", "http://www.opengis.net/ogc",
			"xmlns:xlink", "http://www.w3.org/1999/xlink",
			"xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	} else {
		w.open("StyledLayerDescriptor",
			"xmlns", "http://www.opengis.net/sld",
			"xmlns:sld", "http://www.opengis.net/sld",
			"xmlns:ogc", "http://www.opengis.net/ogc",
			"xmlns:gml", "http://www.opengis.net/gml",
			"xmlns:xlink", "http://www.w3.org/1999/xlink",
			"version", "1.0.0")
	}
	w.open("NamedLayer")
	w.leaf("Name", name)
	w.open("UserStyle")
	w.leaf("Name", name)
	w.leaf("Title", title)
	if abstract != "" {
		w.leaf("Abstract", abstract)
	}
	w.open("FeatureTypeStyle")
}

func (w *sldw) footer() []byte {
	w.close("FeatureTypeStyle")
	w.close("UserStyle")
	w.close("NamedLayer")
	w.close("StyledLayerDescriptor")
	w.b = append(w.b, '\n')
	return w.b
}

func (w *sldw) propertyIs(op, prop, literal string) {
	w.open("ogc:Filter")
	w.open("ogc:PropertyIs" + op)
	w.leaf("ogc:PropertyName", prop)
	w.leaf("ogc:Literal", literal)
	w.close("ogc:PropertyIs" + op)
	w.close("ogc:Filter")
}

func (w *sldw) mark(wkn, fill, stroke string, size int) {
	w.open("PointSymbolizer")
	w.open("Graphic")
	w.open("Mark")
	w.leaf("WellKnownName", wkn)
	w.open("Fill")
	w.css("fill", fill)
	w.close("Fill")
	if stroke != "" {
		w.open("Stroke")
		w.css("stroke", stroke)
		w.css("stroke-width", "1")
		w.close("Stroke")
	}
	w.close("Mark")
	w.leaf("Size", strconv.Itoa(size))
	w.close("Graphic")
	w.close("PointSymbolizer")
}

func (w *sldw) polygon(fill, opacity, stroke, width string) {
	w.open("PolygonSymbolizer")
	w.open("Fill")
	w.css("fill", fill)
	if opacity != "" {
		w.css("fill-opacity", opacity)
	}
	w.close("Fill")
	w.open("Stroke")
	w.css("stroke", stroke)
	w.css("stroke-width", width)
	w.close("Stroke")
	w.close("PolygonSymbolizer")
}

func (w *sldw) line(stroke, width, dash string) {
	w.open("LineSymbolizer")
	w.open("Stroke")
	w.css("stroke", stroke)
	w.css("stroke-width", width)
	w.css("stroke-linecap", "round")
	if dash != "" {
		w.css("stroke-dasharray", dash)
	}
	w.close("Stroke")
	w.close("LineSymbolizer")
}

func color(r *rand.Rand) string { return fmt.Sprintf("#%06X", r.IntN(1<<24)) }

// renderBuiltinSLD writes the SLD of one of the styles every data directory
// starts with.
func (m *model) renderBuiltinSLD(b []byte, s *style) []byte {
	w := &sldw{xw: xw{b: b}}
	switch {
	case s.generic:
		w.header(s.name, "Generic", "Draws any layer: rasters opaque, then polygons, lines and points by the dimension of their geometry")
		w.open("Rule")
		w.leaf("Name", "raster")
		w.leaf("Title", "Raster")
		w.open("ogc:Filter")
		w.open("ogc:PropertyIsEqualTo")
		w.empty("ogc:Function", "name", "isCoverage")
		w.leaf("ogc:Literal", "true")
		w.close("ogc:PropertyIsEqualTo")
		w.close("ogc:Filter")
		w.open("RasterSymbolizer")
		w.leaf("Opacity", "1.0")
		w.close("RasterSymbolizer")
		w.close("Rule")
		for _, d := range []struct{ name, dim string }{{"Polygon", "2"}, {"Line", "1"}} {
			w.open("Rule")
			w.leaf("Name", d.name)
			w.leaf("Title", d.name)
			w.open("ogc:Filter")
			w.open("ogc:PropertyIsEqualTo")
			w.open("ogc:Function", "name", "dimension")
			w.empty("ogc:Function", "name", "geometry")
			w.close("ogc:Function")
			w.leaf("ogc:Literal", d.dim)
			w.close("ogc:PropertyIsEqualTo")
			w.close("ogc:Filter")
			if d.dim == "2" {
				w.polygon("#AAAAAA", "", "#000000", "1")
			} else {
				w.line("#0000FF", "1", "")
			}
			w.close("Rule")
		}
		w.open("Rule")
		w.leaf("Name", "point")
		w.leaf("Title", "Point")
		w.empty(w.el("ElseFilter"))
		w.mark("square", "#FF0000", "", 6)
		w.close("Rule")
		w.leaf("VendorOption", "first", "name", "ruleEvaluation")
	case s.geom == geomPoint:
		w.header("default_point", "Red square", "Points as red squares of 6 pixels")
		w.open("Rule")
		w.leaf("Name", "rule1")
		w.leaf("Title", "Red square")
		w.mark("square", "#FF0000", "", 6)
		w.close("Rule")
	case s.geom == geomLine:
		w.header("default_line", "Blue line", "Lines in blue, one pixel wide")
		w.open("Rule")
		w.leaf("Name", "rule1")
		w.leaf("Title", "Blue line")
		w.line("#0000FF", "1", "")
		w.close("Rule")
	case s.geom == geomPolygon:
		w.header("default_polygon", "Grey polygon", "Polygons filled grey with a black outline of one pixel")
		w.open("Rule")
		w.leaf("Name", "rule1")
		w.leaf("Title", "Grey polygon")
		w.polygon("#AAAAAA", "", "#000000", "1")
		w.close("Rule")
	default:
		w.header("default_raster", "Opaque raster", "Rasters drawn opaque, as they are")
		w.open("Rule")
		w.leaf("Name", "rule1")
		w.leaf("Title", "Opaque raster")
		w.open("RasterSymbolizer")
		w.leaf("Opacity", "1.0")
		w.close("RasterSymbolizer")
		w.close("Rule")
	}
	return w.footer()
}

// renderSLD writes the SLD of a generated style: a classification on the
// style's attribute, some scale-dependent rules and labels, or a colour map
// for rasters.
func (m *model) renderSLD(b []byte, s *style) []byte {
	if s.builtin {
		return m.renderBuiltinSLD(b, s)
	}
	r := m.objRand(randStyle, s.serial)
	w := &sldw{xw: xw{b: b}}
	if r.IntN(3) == 0 {
		w.p = "sld:"
	}
	title := strings.ToUpper(s.name[:1]) + strings.ReplaceAll(s.name[1:], "_", " ")
	abstract := ""
	if r.IntN(2) == 0 {
		abstract = "Cartography of the " + m.org + ", revision " + strconv.Itoa(1+r.IntN(9))
	}
	w.header(s.name, title, abstract)
	if s.geom == geomRaster {
		w.open("Rule")
		w.leaf("Name", "raster")
		w.leaf("Title", title)
		w.open("RasterSymbolizer")
		w.leaf("Opacity", "1.0")
		w.open("ColorMap", "type", []string{"ramp", "intervals"}[r.IntN(2)])
		n := 3 + r.IntN(8)
		q := float64(r.IntN(500))
		for i := range n {
			attrs := []string{"color", color(r), "quantity", jd(q), "label", strconv.Itoa(int(q))}
			if i == 0 {
				attrs = append(attrs, "opacity", "0.0")
			}
			w.empty(w.el("ColorMapEntry"), attrs...)
			q += float64(10 + r.IntN(400))
		}
		w.close("ColorMap")
		w.open("ContrastEnhancement")
		w.leaf("GammaValue", "1.0")
		w.close("ContrastEnhancement")
		w.close("RasterSymbolizer")
		w.close("Rule")
		return w.footer()
	}
	n := 2 + r.IntN(4)
	values := r.Perm(len(classValues))[:n]
	dash := ""
	if r.IntN(3) == 0 {
		dash = "4 2"
	}
	wkn := markNames[r.IntN(len(markNames))]
	for i, v := range values {
		val := classValues[v]
		w.open("Rule")
		w.leaf("Name", val)
		w.leaf("Title", strings.ToUpper(val[:1])+val[1:])
		w.propertyIs("EqualTo", s.classAttr, val)
		if i%3 == 2 {
			w.leaf("MaxScaleDenominator", jd(float64(50000*(1+r.IntN(20)))))
		}
		switch s.geom {
		case geomPoint:
			if s.icon != "" && i == 0 {
				w.open("PointSymbolizer")
				w.open("Graphic")
				w.open("ExternalGraphic")
				w.xw.empty(w.el("OnlineResource"), "xlink:type", "simple", "xlink:href", s.icon)
				w.leaf("Format", "image/svg+xml")
				w.close("ExternalGraphic")
				w.leaf("Size", "16")
				w.close("Graphic")
				w.close("PointSymbolizer")
			} else {
				w.mark(wkn, color(r), "#000000", 6+2*r.IntN(5))
			}
		case geomLine:
			w.line(color(r), jd(float64(1+r.IntN(8))/2), dash)
		default:
			w.polygon(color(r), []string{"0.5", "0.6", "0.8", "1.0"}[r.IntN(4)], []string{"#000000", "#333333", "#555555", "#FFFFFF"}[r.IntN(4)], "0.5")
		}
		w.close("Rule")
	}
	if r.IntN(2) == 0 {
		w.open("Rule")
		w.leaf("Name", "other")
		w.leaf("Title", "Other")
		w.xw.empty(w.el("ElseFilter"))
		switch s.geom {
		case geomPoint:
			w.mark("circle", "#888888", "", 4)
		case geomLine:
			w.line("#888888", "0.5", "")
		default:
			w.polygon("#DDDDDD", "0.5", "#888888", "0.5")
		}
		w.close("Rule")
	}
	if r.IntN(2) == 0 {
		w.open("Rule")
		w.leaf("Name", "labels")
		w.leaf("MaxScaleDenominator", jd(float64(5000*(1+r.IntN(10)))))
		w.open("TextSymbolizer")
		w.open("Label")
		w.leaf("ogc:PropertyName", s.classAttr)
		w.close("Label")
		w.open("Font")
		w.css("font-family", []string{"DejaVu Sans", "Noto Sans", "Arial"}[r.IntN(3)])
		w.css("font-size", strconv.Itoa(9+r.IntN(5)))
		w.css("font-style", "normal")
		w.close("Font")
		w.open("LabelPlacement")
		if s.geom == geomLine {
			w.open("LinePlacement")
			w.leaf("PerpendicularOffset", "0")
			w.close("LinePlacement")
		} else {
			w.open("PointPlacement")
			w.open("AnchorPoint")
			w.leaf("AnchorPointX", "0.5")
			w.leaf("AnchorPointY", "0.5")
			w.close("AnchorPoint")
			w.close("PointPlacement")
		}
		w.close("LabelPlacement")
		w.open("Halo")
		w.leaf("Radius", "1.5")
		w.open("Fill")
		w.css("fill", "#FFFFFF")
		w.close("Fill")
		w.close("Halo")
		w.open("Fill")
		w.css("fill", "#222222")
		w.close("Fill")
		w.leaf("VendorOption", "true", "name", "group")
		w.leaf("VendorOption", "10", "name", "maxDisplacement")
		w.close("TextSymbolizer")
		w.close("Rule")
	}
	return w.footer()
}

// renderIcon writes the SVG symbol some point styles use.
func (m *model) renderIcon(b []byte, s *style) []byte {
	r := m.objRand(randStyle, s.serial)
	return fmt.Appendf(b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">
  <title>%s</title>
  <circle cx="8" cy="8" r="6.5" fill="%s" stroke="#000000" stroke-width="1"/>
  <path d="M8 4v8M4 8h8" stroke="#FFFFFF" stroke-width="1.5"/>
</svg>
`, s.name, color(r))
}
