// hello greets the names given as arguments, from an image of one file.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	for _, name := range os.Args[1:] {
		fmt.Printf("hello, %s, from a static Go binary (%s, %s/%s)\n", name, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
}
