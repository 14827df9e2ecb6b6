package gendata

import (
	"fmt"
	"math"
	"strings"
)

// crs is a coordinate reference system a resource can be declared in: its
// code, the WKT GeoTools writes for it into nativeCRS, and where on earth
// data in it plausibly lies.
type crs struct {
	code      string
	wkt       string
	projected bool
	lon, lat  [2]float64 // plausible extent, degrees
	forward   func(lon, lat float64) (x, y float64)
}

// bbox is an envelope in some CRS.
type bbox struct{ minx, maxx, miny, maxy float64 }

func (b bbox) union(o bbox) bbox {
	return bbox{math.Min(b.minx, o.minx), math.Max(b.maxx, o.maxx), math.Min(b.miny, o.miny), math.Max(b.maxy, o.maxy)}
}

// project maps a longitude/latitude box into c by its corners and edge
// midpoints, which is close enough for an envelope.
func (c *crs) project(ll bbox) bbox {
	if c.forward == nil {
		return ll
	}
	out := bbox{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	for _, lon := range []float64{ll.minx, (ll.minx + ll.maxx) / 2, ll.maxx} {
		for _, lat := range []float64{ll.miny, (ll.miny + ll.maxy) / 2, ll.maxy} {
			x, y := c.forward(lon, lat)
			out = out.union(bbox{x, x, y, y})
		}
	}
	return out
}

const (
	wgs84Geogcs = `GEOGCS["WGS 84", 
  DATUM["World Geodetic System 1984", 
    SPHEROID["WGS 84", 6378137.0, 298.257223563, AUTHORITY["EPSG","7030"]], 
    AUTHORITY["EPSG","6326"]], 
  PRIMEM["Greenwich", 0.0, AUTHORITY["EPSG","8901"]], 
  UNIT["degree", 0.017453292519943295], 
  AXIS["Geodetic longitude", EAST], 
  AXIS["Geodetic latitude", NORTH], 
  AUTHORITY["EPSG","4326"]]`

	// What a shapefile's .prj written by ESRI software gives.
	esriWGS84 = `GEOGCS["GCS_WGS_1984", 
  DATUM["WGS_1984", 
    SPHEROID["WGS_1984", 6378137.0, 298.257223563]], 
  PRIMEM["Greenwich", 0.0], 
  UNIT["degree", 0.017453292519943295], 
  AXIS["Longitude", EAST], 
  AXIS["Latitude", NORTH]]`

	etrs89Geogcs = `GEOGCS["ETRS89", 
  DATUM["European Terrestrial Reference System 1989", 
    SPHEROID["GRS 1980", 6378137.0, 298.257222101, AUTHORITY["EPSG","7019"]], 
    TOWGS84[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 
    AUTHORITY["EPSG","6258"]], 
  PRIMEM["Greenwich", 0.0, AUTHORITY["EPSG","8901"]], 
  UNIT["degree", 0.017453292519943295], 
  AXIS["Geodetic longitude", EAST], 
  AXIS["Geodetic latitude", NORTH], 
  AUTHORITY["EPSG","4258"]]`

	nad27Geogcs = `GEOGCS["NAD27", 
  DATUM["North American Datum 1927", 
    SPHEROID["Clarke 1866", 6378206.4, 294.9786982138982, AUTHORITY["EPSG","7008"]], 
    TOWGS84[-4.2, 135.4, 181.9, 0.0, 0.0, 0.0, 0.0], 
    AUTHORITY["EPSG","6267"]], 
  PRIMEM["Greenwich", 0.0, AUTHORITY["EPSG","8901"]], 
  UNIT["degree", 0.017453292519943295], 
  AXIS["Geodetic longitude", EAST], 
  AXIS["Geodetic latitude", NORTH], 
  AUTHORITY["EPSG","4267"]]`
)

// The WKT below is laid out as GeoTools' Formatter writes it: each nested
// element on its own line, two more spaces in, ", " before the line break.

// nest indents a GEOGCS by two spaces to sit inside a PROJCS.
func nest(geogcs string) string { return strings.ReplaceAll(geogcs, "\n", "\n  ") }

func utmWKT(name, geogcs string, zone int, code string) string {
	return fmt.Sprintf(`PROJCS["%s", 
  %s, 
  PROJECTION["Transverse_Mercator", AUTHORITY["EPSG","9807"]], 
  PARAMETER["central_meridian", %s], 
  PARAMETER["latitude_of_origin", 0.0], 
  PARAMETER["scale_factor", 0.9996], 
  PARAMETER["false_easting", 500000.0], 
  PARAMETER["false_northing", 0.0], 
  UNIT["m", 1.0], 
  AXIS["Easting", EAST], 
  AXIS["Northing", NORTH], 
  AUTHORITY["EPSG","%s"]]`, name, nest(geogcs), jd(float64(zone*6-183)), code)
}

func mercatorWKT() string {
	return `PROJCS["WGS 84 / Pseudo-Mercator", 
  ` + nest(wgs84Geogcs) + `, 
  PROJECTION["Popular Visualisation Pseudo Mercator", AUTHORITY["EPSG","1024"]], 
  PARAMETER["semi_minor", 6378137.0], 
  PARAMETER["latitude_of_origin", 0.0], 
  PARAMETER["central_meridian", 0.0], 
  PARAMETER["scale_factor", 1.0], 
  PARAMETER["false_easting", 0.0], 
  PARAMETER["false_northing", 0.0], 
  UNIT["m", 1.0], 
  AXIS["Easting", EAST], 
  AXIS["Northing", NORTH], 
  AUTHORITY["EPSG","3857"]]`
}

// transverseMercator is Snyder's series for the ellipsoidal Transverse
// Mercator (USGS PP 1395, 8-9 and 8-10), good to well under a metre within a
// UTM zone.
func transverseMercator(a, invf, lon0 float64) func(lon, lat float64) (float64, float64) {
	const k0 = 0.9996
	f := 1 / invf
	e2 := f * (2 - f)
	e4, e6 := e2*e2, e2*e2*e2
	ep2 := e2 / (1 - e2)
	return func(lon, lat float64) (float64, float64) {
		phi := lat * math.Pi / 180
		s, c := math.Sin(phi), math.Cos(phi)
		n := a / math.Sqrt(1-e2*s*s)
		t := math.Tan(phi) * math.Tan(phi)
		cc := ep2 * c * c
		aa := (lon - lon0) * math.Pi / 180 * c
		m := a * ((1-e2/4-3*e4/64-5*e6/256)*phi -
			(3*e2/8+3*e4/32+45*e6/1024)*math.Sin(2*phi) +
			(15*e4/256+45*e6/1024)*math.Sin(4*phi) -
			(35*e6/3072)*math.Sin(6*phi))
		x := k0*n*(aa+(1-t+cc)*math.Pow(aa, 3)/6+(5-18*t+t*t+72*cc-58*ep2)*math.Pow(aa, 5)/120) + 500000
		y := k0 * (m + n*math.Tan(phi)*(aa*aa/2+(5-t+9*cc+4*cc*cc)*math.Pow(aa, 4)/24+(61-58*t+t*t+600*cc-330*ep2)*math.Pow(aa, 6)/720))
		return x, y
	}
}

func webMercator(lon, lat float64) (float64, float64) {
	const r = 6378137.0
	return r * lon * math.Pi / 180, r * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))
}

// crsList holds the systems resources are declared in. Index 0 is
// EPSG:4326 and 1 its ESRI spelling from shapefiles.
var crsList = func() []*crs {
	l := []*crs{
		{code: "EPSG:4326", wkt: wgs84Geogcs, lon: [2]float64{-170, 170}, lat: [2]float64{-55, 70}},
		{code: "EPSG:4326", wkt: esriWGS84, lon: [2]float64{-170, 170}, lat: [2]float64{-55, 70}},
		{code: "EPSG:3857", wkt: mercatorWKT(), projected: true, lon: [2]float64{-170, 170}, lat: [2]float64{-55, 70}, forward: webMercator},
		{code: "EPSG:26713", wkt: utmWKT("NAD27 / UTM zone 13N", nad27Geogcs, 13, "26713"), projected: true,
			lon: [2]float64{-108, -102}, lat: [2]float64{32, 48}, forward: transverseMercator(6378206.4, 294.9786982138982, -105)},
	}
	for _, z := range []int{31, 32, 33} {
		cm := float64(z*6 - 183)
		l = append(l,
			&crs{code: fmt.Sprintf("EPSG:326%d", z), wkt: utmWKT(fmt.Sprintf("WGS 84 / UTM zone %dN", z), wgs84Geogcs, z, fmt.Sprintf("326%d", z)), projected: true,
				lon: [2]float64{cm - 3, cm + 3}, lat: [2]float64{38, 60}, forward: transverseMercator(6378137, 298.257223563, cm)},
			&crs{code: fmt.Sprintf("EPSG:258%d", z), wkt: utmWKT(fmt.Sprintf("ETRS89 / UTM zone %dN", z), etrs89Geogcs, z, fmt.Sprintf("258%d", z)), projected: true,
				lon: [2]float64{cm - 3, cm + 3}, lat: [2]float64{42, 60}, forward: transverseMercator(6378137, 298.257222101, cm)},
		)
	}
	return l
}()
