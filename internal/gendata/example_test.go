package gendata_test

import (
	"fmt"
	"log"
	"os"

	"github.com/gscluster/gscluster/internal/gendata"
)

func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "datadir-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, err := gendata.Generate(dir, gendata.Options{Layers: 50, Seed: 1, Dangling: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Layers, "layers in", st.Workspaces, "workspaces")
	for _, d := range st.Dangling {
		fmt.Println("dangling", d.Kind, "in", d.Path)
	}
	// Output:
	// 50 layers in 2 workspaces
	// dangling resource in workspaces/hydro/postgis/school_districts_v2/layer.xml
}
