package gendata

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// ids hands out catalog ids in GeoServer's format and keeps the simulated
// clock the catalog was built on.
//
// GeoServer names an object PREFIX-UID, where UID is java.rmi.server.UID's
// string: three hex numbers "unique:time:count" (unique a signed 32-bit
// number fixed for one JVM, time the JVM's start in milliseconds, count a
// signed 16-bit counter from -8000). So ids made in one GeoServer run share
// their middle part and count up: WorkspaceInfoImpl--570ae188:124761b8d78:-7ffd.
// A catalog built over years comes from many runs; ids simulates them as
// sessions of a few hundred to a few thousand objects.
type ids struct {
	rng    *rand.Rand
	now    time.Time // the simulated wall clock
	unique int32
	jvmMs  int64
	count  int
	left   int
	seen   map[[2]int64]bool
}

func newIDs(rng *rand.Rand, start time.Time) *ids {
	return &ids{rng: rng, now: start, seen: map[[2]int64]bool{}}
}

// session starts a new simulated GeoServer run some hours or days later.
func (g *ids) session() {
	g.now = g.now.Add(time.Duration(1+g.rng.IntN(96)) * time.Hour).Add(time.Duration(g.rng.IntN(3600_000)) * time.Millisecond)
	for {
		g.unique = int32(g.rng.Uint32())
		// The JVM started a while before this admin session.
		g.jvmMs = g.now.UnixMilli() - g.rng.Int64N(30*24*3600_000)
		k := [2]int64{int64(g.unique), g.jvmMs}
		if !g.seen[k] {
			g.seen[k] = true
			break
		}
	}
	g.count = -0x8000
	g.left = 100 + g.rng.IntN(2500)
}

// uid returns the next UID string, without prefix.
func (g *ids) uid() string {
	if g.left <= 0 || g.count > 0x7fff {
		g.session()
	}
	b := make([]byte, 0, 32)
	b = strconv.AppendInt(b, int64(g.unique), 16)
	b = append(b, ':')
	b = strconv.AppendInt(b, g.jvmMs, 16)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(g.count), 16)
	g.count++
	g.left--
	return string(b)
}

// next returns a new id for an object of the given implementation class
// prefix, such as "LayerInfoImpl".
func (g *ids) next(prefix string) string { return prefix + "-" + g.uid() }

// tick advances the clock by the time an administrator takes between two
// objects, and returns the new time.
func (g *ids) tick() time.Time {
	g.now = g.now.Add(time.Duration(2_000+g.rng.IntN(240_000)) * time.Millisecond)
	return g.now
}
