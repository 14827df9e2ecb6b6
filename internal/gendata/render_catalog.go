package gendata

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Renderers of the catalog object files. Each appends one file's content
// to b and returns it. They only read the model, so they may run in
// parallel; the element names and their order are GeoServer's (XStream
// persister, 2.2x).

// objRand is the random stream of one object's cosmetic details (colours,
// template text), independent of the order files are rendered in.
func (m *model) objRand(kind, serial int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(m.opt.Seed)^uint64(kind)<<56, uint64(serial)))
}

// Tags for objRand.
const (
	randStyle = iota + 1
	randTemplate
	randLog
)

func modTime(created, modified time.Time) time.Time {
	if modified.After(created) {
		return modified
	}
	return created
}

func (m *model) renderWorkspace(b []byte, ws *workspace, modified time.Time) []byte {
	w := &xw{b: b}
	w.open("workspace")
	w.leaf("id", ws.id)
	w.leaf("name", ws.name)
	w.bool("isolated", false)
	w.date("dateCreated", ws.created)
	w.date("dateModified", modified)
	w.close("workspace")
	return w.b
}

func (m *model) renderNamespace(b []byte, ws *workspace) []byte {
	w := &xw{b: b}
	w.open("namespace")
	w.leaf("id", ws.nsID)
	w.leaf("prefix", ws.name)
	w.leaf("uri", ws.uri)
	w.bool("isolated", false)
	w.close("namespace")
	return w.b
}

func (m *model) renderDataStore(b []byte, st *store) []byte {
	w := &xw{b: b}
	w.open("dataStore")
	w.leaf("id", st.id)
	w.leaf("name", st.name)
	if st.kind == storePostGIS {
		w.leaf("type", "PostGIS")
	} else {
		w.leaf("type", "Shapefile")
	}
	if st.desc != "" {
		w.leaf("description", st.desc)
	}
	w.bool("enabled", true)
	w.ref("workspace", st.ws.id)
	w.open("connectionParameters")
	if st.kind == storePostGIS {
		w.entry("schema", st.schema)
		w.entry("Estimated extends", "true")
		w.entry("fetch size", "1000")
		w.entry("encode functions", "true")
		w.entry("Expose primary keys", "false")
		w.entry("validate connections", "true")
		w.entry("Support on the fly geometry simplification", "true")
		w.entry("Connection timeout", "20")
		w.entry("create database", "false")
		w.entry("Method used to simplify geometries", "FAST")
		w.entry("port", "5432")
		w.entry("passwd", st.passwd)
		w.entry("min connections", "1")
		w.entry("dbtype", "postgis")
		w.entry("namespace", st.ws.uri)
		w.entry("max connections", strconv.Itoa(st.maxConn))
		w.entry("Evictor tests per run", "3")
		w.entry("Test while idle", "true")
		w.entry("host", st.host)
		w.entry("Evictor run periodicity", "300")
		w.entry("Max connection idle time", "300")
		w.entry("database", st.database)
		w.entry("Batch insert size", "1")
		w.entry("preparedStatements", "false")
		w.entry("Loose bbox", "true")
		w.entry("SSL mode", "DISABLE")
		w.entry("user", st.user)
	} else {
		w.entry("charset", "ISO-8859-1")
		w.entry("create spatial index", "true")
		w.entry("memory mapped buffer", "false")
		w.entry("timezone", "UTC")
		w.entry("namespace", st.ws.uri)
		w.entry("cache and reuse memory maps", "true")
		w.entry("url", st.url)
		w.entry("fstype", "shape")
		w.entry("filetype", "shapefile")
	}
	w.close("connectionParameters")
	w.bool("__default", false)
	w.date("dateCreated", st.created)
	w.date("dateModified", st.modified)
	w.bool("disableOnConnFailure", false)
	w.close("dataStore")
	return w.b
}

func (m *model) renderCoverageStore(b []byte, st *store) []byte {
	w := &xw{b: b}
	w.open("coverageStore")
	w.leaf("id", st.id)
	w.leaf("name", st.name)
	if st.desc != "" {
		w.leaf("description", st.desc)
	}
	w.leaf("type", "GeoTIFF")
	w.bool("enabled", true)
	w.ref("workspace", st.ws.id)
	w.bool("__default", false)
	w.date("dateCreated", st.created)
	w.date("dateModified", st.modified)
	w.leaf("url", st.url)
	w.bool("disableOnConnFailure", false)
	w.close("coverageStore")
	return w.b
}

// resourceHead writes what feature types and coverages share, up to and
// including the lat/lon envelope.
func (m *model) resourceHead(w *xw, l *layer) {
	w.leaf("id", l.resID)
	w.leaf("name", l.name)
	w.leaf("nativeName", l.nativeName)
	w.ref("namespace", l.st.ws.nsID)
	w.leaf("title", l.title)
	if l.geom == geomRaster {
		w.leaf("description", "Generated from "+l.st.name)
	}
	w.leaf("abstract", l.abstract)
	w.strings("keywords", l.keywords)
	if l.metadataURL != "" {
		w.open("metadataLinks")
		w.open("metadataLink")
		w.leaf("type", "text/xml")
		w.leaf("metadataType", "ISO19115:2003")
		w.leaf("content", l.metadataURL)
		w.close("metadataLink")
		w.close("metadataLinks")
	}
	var cls []string
	if l.crs.projected {
		cls = []string{"class", "projected"}
	}
	w.leaf("nativeCRS", l.crs.wkt, cls...)
	w.leaf("srs", l.crs.code)
	writeBBox(w, "nativeBoundingBox", l.native, l.crs.code, l.crs.projected)
	writeBBox(w, "latLonBoundingBox", l.ll, "EPSG:4326", false)
}

func writeBBox(w *xw, name string, b bbox, code string, projected bool) {
	w.open(name)
	w.leaf("minx", jd(b.minx))
	w.leaf("maxx", jd(b.maxx))
	w.leaf("miny", jd(b.miny))
	w.leaf("maxy", jd(b.maxy))
	if projected {
		w.leaf("crs", code, "class", "projected")
	} else {
		w.leaf("crs", code)
	}
	w.close(name)
}

func (m *model) storeRef(w *xw, l *layer, class string) {
	id := l.st.id
	if l.dangle == DanglingStore {
		id = l.missingID
	}
	w.ref("store", id, "class", class)
}

func (m *model) renderFeatureType(b []byte, l *layer) []byte {
	w := &xw{b: b}
	w.open("featureType")
	m.resourceHead(w, l)
	w.leaf("projectionPolicy", "FORCE_DECLARED")
	w.bool("enabled", true)
	w.open("metadata")
	w.entry("cachingEnabled", strconv.FormatBool(l.caching))
	if l.caching {
		w.entry("cacheAgeMax", "3600")
	}
	if l.timeAttr != "" {
		w.open("entry", "key", "time")
		w.open("dimensionInfo")
		w.bool("enabled", true)
		w.leaf("attribute", l.timeAttr)
		w.leaf("presentation", "LIST")
		w.leaf("units", "ISO8601")
		w.open("defaultValue")
		w.leaf("strategy", "MAXIMUM")
		w.close("defaultValue")
		w.bool("nearestMatchEnabled", false)
		w.bool("rawNearestMatchEnabled", false)
		w.close("dimensionInfo")
		w.close("entry")
	}
	if l.sqlView {
		var geomAttr attr
		var cols []string
		for _, a := range l.attrs {
			cols = append(cols, a.name)
			if strings.HasPrefix(a.binding, "org.locationtech") {
				geomAttr = a
			}
		}
		w.open("entry", "key", "JDBC_VIRTUAL_TABLE")
		w.open("virtualTable")
		w.leaf("name", l.name)
		w.leaf("sql", "select "+strings.Join(cols, ", ")+"\nfrom "+l.st.schema+"."+strings.TrimSuffix(l.topic, "s")+"_all\nwhere status <> 'deleted'\n")
		w.bool("escapeSql", false)
		w.open("geometry")
		w.leaf("name", geomAttr.name)
		w.leaf("type", strings.TrimPrefix(geomAttr.binding, "org.locationtech.jts.geom."))
		w.leaf("srid", strings.TrimPrefix(l.crs.code, "EPSG:"))
		w.close("geometry")
		w.close("virtualTable")
		w.close("entry")
	}
	w.close("metadata")
	m.storeRef(w, l, "dataStore")
	w.bool("serviceConfiguration", false)
	w.bool("simpleConversionEnabled", false)
	w.int("maxFeatures", 0)
	w.int("numDecimals", 0)
	w.bool("padWithZeros", false)
	w.bool("forcedDecimal", false)
	w.open("attributes")
	shp := l.st.kind == storeShapefile
	for _, a := range l.attrs {
		w.open("attribute")
		w.leaf("name", a.name)
		w.int("minOccurs", 0)
		w.int("maxOccurs", 1)
		w.bool("nillable", a.nillable)
		if !shp {
			w.leaf("binding", a.binding)
		}
		w.close("attribute")
	}
	w.close("attributes")
	w.bool("overridingServiceSRS", false)
	w.bool("skipNumberMatched", false)
	w.bool("circularArcPresent", false)
	w.close("featureType")
	return w.b
}

func (m *model) renderCoverage(b []byte, l *layer) []byte {
	w := &xw{b: b}
	w.open("coverage")
	m.resourceHead(w, l)
	w.leaf("projectionPolicy", "REPROJECT_TO_DECLARED")
	w.bool("enabled", true)
	w.open("metadata")
	w.entry("dirName", l.st.name+"_"+l.name)
	w.close("metadata")
	m.storeRef(w, l, "coverageStore")
	w.bool("serviceConfiguration", false)
	w.bool("simpleConversionEnabled", false)
	w.leaf("nativeFormat", "GeoTIFF")
	w.open("grid", "dimension", "2")
	w.open("range")
	w.leaf("low", "0 0")
	w.leaf("high", strconv.Itoa(l.width-1)+" "+strconv.Itoa(l.height-1))
	w.close("range")
	w.open("transform")
	w.leaf("scaleX", jd(l.res))
	w.leaf("scaleY", jd(-l.res))
	w.leaf("shearX", "0.0")
	w.leaf("shearY", "0.0")
	w.leaf("translateX", jd(l.native.minx+l.res/2))
	w.leaf("translateY", jd(l.native.maxy-l.res/2))
	w.close("transform")
	w.leaf("crs", l.crs.code)
	w.close("grid")
	w.strings("supportedFormats", []string{"ARCGRID", "IMAGEMOSAIC", "GEOTIFF", "GIF", "PNG", "JPEG", "TIFF"})
	w.strings("interpolationMethods", []string{"nearest neighbor", "bilinear", "bicubic"})
	w.leaf("defaultInterpolationMethod", "nearest neighbor")
	w.open("dimensions")
	if l.bands == 3 {
		for _, band := range []string{"RED_BAND", "GREEN_BAND", "BLUE_BAND"} {
			w.open("coverageDimension")
			w.leaf("name", band)
			w.leaf("description", "GridSampleDimension[0.0,255.0]")
			w.open("range")
			w.leaf("min", "0.0")
			w.leaf("max", "255.0")
			w.close("range")
			w.close("coverageDimension")
		}
	} else {
		// A single band: the range GeoTools reports is the no-data value's.
		w.open("coverageDimension")
		w.leaf("name", "GRAY_INDEX")
		w.leaf("description", "GridSampleDimension[-9999.0,-9999.0]")
		w.open("range")
		w.leaf("min", "-9999.0")
		w.leaf("max", "-9999.0")
		w.close("range")
		w.close("coverageDimension")
	}
	w.close("dimensions")
	w.strings("requestSRS", []string{l.crs.code})
	w.strings("responseSRS", []string{l.crs.code})
	w.open("parameters")
	w.open("entry")
	w.leaf("string", "InputTransparentColor")
	w.empty("null")
	w.close("entry")
	w.open("entry")
	w.leaf("string", "SUGGESTED_TILE_SIZE")
	w.leaf("string", "512,512")
	w.close("entry")
	w.close("parameters")
	w.leaf("nativeCoverageName", l.st.name)
	w.close("coverage")
	return w.b
}

func (m *model) renderLayer(b []byte, l *layer) []byte {
	w := &xw{b: b}
	w.open("layer")
	w.leaf("name", l.name)
	w.leaf("id", l.id)
	if l.geom == geomRaster {
		w.leaf("type", "RASTER")
	} else {
		w.leaf("type", "VECTOR")
	}
	def := l.defStyle.id
	if l.dangle == DanglingStyle {
		def = l.missingID
	}
	w.ref("defaultStyle", def)
	if len(l.styles) > 0 {
		w.open("styles", "class", "linked-hash-set")
		for _, s := range l.styles {
			w.ref("style", s.id)
		}
		w.close("styles")
	}
	res, class := l.resID, "featureType"
	if l.geom == geomRaster {
		class = "coverage"
	}
	if l.dangle == DanglingResource {
		res = l.missingID
	}
	w.ref("resource", res, "class", class)
	w.bool("enabled", true)
	w.open("attribution")
	if l.attribution {
		w.leaf("title", "© "+m.org)
		w.leaf("href", "https://"+m.host+"/terms")
	}
	w.int("logoWidth", 0)
	w.int("logoHeight", 0)
	w.close("attribution")
	w.date("dateCreated", l.created)
	w.date("dateModified", l.modified)
	w.close("layer")
	return w.b
}

func (m *model) renderStyleInfo(b []byte, s *style) []byte {
	w := &xw{b: b}
	w.open("style")
	w.leaf("id", s.id)
	w.leaf("name", s.name)
	if s.ws != nil {
		w.ref("workspace", s.ws.id)
	}
	if !s.builtin || s.generic {
		w.leaf("format", "sld")
		w.open("languageVersion")
		w.leaf("version", "1.0.0")
		w.close("languageVersion")
	}
	w.leaf("filename", s.filename)
	if !s.builtin {
		w.date("dateCreated", s.created)
		w.date("dateModified", s.modified)
	}
	w.close("style")
	return w.b
}

func (m *model) renderLayerGroup(b []byte, g *group) []byte {
	w := &xw{b: b}
	w.open("layerGroup")
	w.leaf("id", g.id)
	w.leaf("name", g.name)
	w.leaf("mode", g.mode)
	w.leaf("title", g.title)
	w.leaf("abstractTxt", g.abstract)
	if g.ws != nil {
		w.ref("workspace", g.ws.id)
	}
	w.empty("internationalTitle")
	w.empty("internationalAbstract")
	w.open("publishables")
	for _, l := range g.layers {
		w.ref("published", l.id, "type", "layer")
	}
	w.close("publishables")
	w.open("styles")
	for _, s := range g.styles {
		if s == nil {
			w.empty("style")
		} else {
			w.ref("style", s.id)
		}
	}
	w.close("styles")
	writeBBox(w, "bounds", g.bounds, "EPSG:4326", false)
	w.date("dateCreated", g.created)
	w.date("dateModified", g.modified)
	w.close("layerGroup")
	return w.b
}

// gwcFileName is the name of a tile layer's file in gwc-layers: its id
// with the characters a file name should not hold replaced by "_".
func gwcFileName(id string) string {
	return strings.NewReplacer(":", "_", "/", "_", "\\", "_").Replace(id) + ".xml"
}

// renderTileLayer writes a gwc-layers file (GeoServerTileLayerInfo) for a
// layer (l) or a layer group (g).
func (m *model) renderTileLayer(b []byte, l *layer, g *group) []byte {
	w := &xw{b: b}
	w.open("GeoServerTileLayer")
	var name, id string
	var formats []string
	if l != nil {
		id, name = l.id, l.st.ws.name+":"+l.name
		if l.geom == geomRaster {
			formats = []string{"image/jpeg", "image/png"}
		} else {
			formats = []string{"image/png", "image/jpeg"}
			if l.serial%3 == 0 {
				formats = append(formats, "application/vnd.mapbox-vector-tile")
			}
		}
	} else {
		id, name = g.id, g.name
		if g.ws != nil {
			name = g.ws.name + ":" + g.name
		}
		formats = []string{"image/png", "image/jpeg"}
	}
	w.leaf("id", id)
	w.bool("enabled", true)
	w.bool("inMemoryCached", true)
	w.leaf("name", name)
	w.strings("mimeFormats", formats)
	w.open("gridSubsets")
	for _, gs := range []string{"EPSG:900913", "EPSG:4326"} {
		w.open("gridSubset")
		w.leaf("gridSetName", gs)
		w.close("gridSubset")
	}
	if l != nil {
		if gs := utmGridSet(l.crs.code); gs != "" {
			w.open("gridSubset")
			w.leaf("gridSetName", gs)
			w.open("extent")
			w.open("coords")
			for _, v := range []float64{l.native.minx, l.native.miny, l.native.maxx, l.native.maxy} {
				w.leaf("double", jd(v))
			}
			w.close("coords")
			w.close("extent")
			w.int("zoomStart", 0)
			w.int("zoomStop", 15)
			w.close("gridSubset")
		}
	}
	w.close("gridSubsets")
	w.open("metaWidthHeight")
	w.int("int", 4)
	w.int("int", 4)
	w.close("metaWidthHeight")
	w.int("expireCache", 0)
	w.int("expireClients", 0)
	if l != nil {
		w.open("parameterFilters")
		w.open("styleParameterFilter")
		w.leaf("key", "STYLES")
		w.leaf("defaultValue", "")
		if len(l.styles) > 0 {
			var names []string
			for _, s := range append([]*style{l.defStyle}, l.styles...) {
				names = append(names, s.prefixed())
			}
			slices.Sort(names)
			w.strings("availableStyles", names, "class", "sorted-set")
			w.leaf("defaultStyle", l.defStyle.prefixed())
		}
		w.close("styleParameterFilter")
		w.close("parameterFilters")
	}
	w.int("gutter", 0)
	w.empty("cacheWarningSkips")
	w.close("GeoServerTileLayer")
	return w.b
}

// utmGridSet is the custom gridset (see gwc/geowebcache.xml) that layers
// in an ETRS89 UTM zone are also cached in.
func utmGridSet(code string) string {
	if z, ok := strings.CutPrefix(code, "EPSG:258"); ok {
		return "ETRS89_UTM" + z + "N"
	}
	return ""
}

// renderTemplate writes one of a layer's FreeMarker templates.
func (m *model) renderTemplate(b []byte, l *layer, name string) []byte {
	r := m.objRand(randTemplate, l.serial)
	var cols []string
	for _, a := range l.attrs {
		if !strings.HasPrefix(a.binding, "org.locationtech") {
			cols = append(cols, a.name)
		}
	}
	first := cols[0]
	if len(cols) > 1 && r.IntN(2) == 0 {
		first = cols[1]
	}
	s := strings.Builder{}
	switch name {
	case "title.ftl":
		s.WriteString("${" + first + ".value}")
		if r.IntN(2) == 0 {
			s.WriteString(" (" + l.title + ")")
		}
		s.WriteString("\n")
	case "description.ftl":
		s.WriteString("<h4>" + l.title + "</h4>\n<ul>\n")
		for _, c := range cols {
			s.WriteString("  <li><b>" + c + "</b>: ${" + c + ".value}</li>\n")
		}
		s.WriteString("</ul>\n")
	case "header.ftl":
		s.WriteString(`<#-- Opens the GetFeatureInfo page of this layer; footer.ftl closes it.
     The classes are specific so the snippet can be embedded in a viewer. -->
<html>
  <head>
    <title>` + l.title + `</title>
    <style type="text/css">
      table.featureInfo, table.featureInfo td, table.featureInfo th {
        border: 1px solid #ddd;
        border-collapse: collapse;
        margin: 0;
        padding: 0;
        font-size: 90%;
        padding: .2em .1em;
      }
      table.featureInfo th { padding: .2em .2em; font-weight: bold; background: #eee; }
      table.featureInfo td { background: #fff; }
      table.featureInfo tr.odd td { background: #eee; }
      table.featureInfo caption { text-align: left; font-size: 100%; font-weight: bold; padding: .2em .2em; }
    </style>
  </head>
<body>
`)
	case "footer.ftl":
		s.WriteString("<#-- Closes what header.ftl opened. -->\n  <p class=\"source\">Source: " + m.org + "</p>\n  </body>\n</html>\n")
	default: // content.ftl
		s.WriteString("<table class=\"featureInfo\">\n  <caption class=\"featureInfo\">" + l.title + "</caption>\n  <tr>\n")
		for _, c := range cols {
			s.WriteString("    <th>" + c + "</th>\n")
		}
		s.WriteString("  </tr>\n<#assign odd = false>\n<#list features as feature>\n  <#if odd>\n    <tr class=\"odd\">\n  <#else>\n    <tr>\n  </#if>\n  <#assign odd = !odd>\n")
		for _, c := range cols {
			s.WriteString("    <td>${feature." + c + ".value?html}</td>\n")
		}
		s.WriteString("  </tr>\n</#list>\n</table>\n<br/>\n")
	}
	return append(b, s.String()...)
}
