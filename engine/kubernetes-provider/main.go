// Command pulumi-resource-kubernetes serves the Kubernetes resource provider of
// github.com/pulumi/pulumi-kubernetes/provider/v4 (the version pinned in go.mod).
//
// The upstream main embeds schema files that its build generates and that the
// module does not contain; the module does carry the same schema as schema.json
// and terraform-mapping.json, which engine/build.sh copies beside this file.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
