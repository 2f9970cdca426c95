//go:build !cgo

package main

// Without cgo there is no C check (addrspace_cgo.go).
const (
	addressSpaceCheckedInC = false
	cAddressSpaceKiB       = 0
	cStartAddressSpaceKiB  = 0
	cAddressSpaceExit      = 0
)
