//go:build ignore

// ui-icons writes the generated icons to assets/ (icon.png for packaging,
// tray-<state>.png for documentation). Run: go run scripts/ui-icons.go
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/minis-gg/studio-worker/ui"
)

func main() {
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join("assets", name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("icon.png", ui.AppIconPNG(512))
	for _, s := range ui.AllTrayStates {
		write("tray-"+s.String()+".png", ui.IconPNG(s, 64))
	}
}
