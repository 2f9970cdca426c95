//go:build cgo

package main

const addressSpaceCheckedInC = true
