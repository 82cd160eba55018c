// Package hostinfo reports the machine facts the worker advertises in its capabilities:
// total NVIDIA VRAM, machine name and user name.
package hostinfo
