package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// darkTheme is Fyne's default theme held in its dark variant, as the
// reference window is dark whatever the desktop says.
type darkTheme struct{ fyne.Theme }

// DarkTheme returns the window theme.
func DarkTheme() fyne.Theme { return darkTheme{theme.DefaultTheme()} }

func (t darkTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, theme.VariantDark)
}
