package dockerapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/server/wire"
)

// The Docker Engine API versions skiff speaks. 1.50 is the docker 28 CLI's
// own; clients below 1.44 (docker 29.0–29.2 refuse those) are still served
// down to 1.24, the floor moby keeps.
const (
	MaxAPIVersion = wire.APIVersion
	MinAPIVersion = "1.24"
)

// VersionKey is the echo.Context key of the request's API version.
const VersionKey = "api-version"

// CheckVersion refuses API versions outside [MinAPIVersion, MaxAPIVersion]
// with moby's messages.
func CheckVersion(v string) error {
	if compareVersions(v, MaxAPIVersion) > 0 {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"client version %s is too new. Maximum supported API version is %s", v, MaxAPIVersion))
	}
	if compareVersions(v, MinAPIVersion) < 0 {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, MinAPIVersion))
	}
	return nil
}

// compareVersions compares dotted version numbers ("1.9" < "1.24").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
