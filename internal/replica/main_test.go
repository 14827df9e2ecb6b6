package replica

import (
	"testing"

	"github.com/gscluster/gscluster/internal/pgtest"
)

// TestMain starts the test binary's PostgreSQL server and checks for
// leaked goroutines (a Run that did not return leaves some).
func TestMain(m *testing.M) { pgtest.Main(m) }
