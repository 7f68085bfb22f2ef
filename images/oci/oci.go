// Package oci writes a root file system directory as an OCI image layout
// (one layer, made reproducibly from the tree) and pushes such a layout to
// a registry, with go-containerregistry.
package oci

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/atomicdir"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
)

// RefNameAnnotation is the annotation that names an image in a layout.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Options describe the image Write makes.
type Options struct {
	// Root is the root file system directory; it is only read.
	Root string
	// Out is the OCI layout directory to write; it is written next to
	// itself and swapped in.
	Out string
	// Tag names the image in the layout (org.opencontainers.image.ref.name).
	Tag string
	// Epoch is the image's creation time and the latest time of any file
	// in the layer (later ones are clamped to it).
	Epoch time.Time
	// Labels are the image config's labels.
	Labels map[string]string
	// Cmd is the image's default command; default /sbin/init.
	Cmd []string
}

// Result is what Write made.
type Result struct {
	// Digest is the image manifest's digest (sha256:…).
	Digest v1.Hash
	// LayerDigest and LayerSize describe the compressed layer.
	LayerDigest v1.Hash
	LayerSize   int64
}

// Write makes the image of o.Root and writes it as an OCI layout to o.Out.
func Write(ctx context.Context, o Options) (Result, error) {
	if o.Root == "" || o.Out == "" {
		return Result{}, errors.New("oci: Root and Out are required")
	}
	work, remove, err := tempfiles.MkdirTemp(filepath.Dir(o.Out), "."+filepath.Base(o.Out)+".layer-")
	if err != nil {
		return Result{}, fmt.Errorf("oci: %w", err)
	}
	defer remove()
	tarPath := filepath.Join(work, "layer.tar")
	if err := WriteTar(ctx, o.Root, tarPath, o.Epoch); err != nil {
		return Result{}, fmt.Errorf("oci: layer of %s: %w", o.Root, err)
	}
	img, err := image(tarPath, o)
	if err != nil {
		return Result{}, fmt.Errorf("oci: %w", err)
	}
	res, err := describe(img)
	if err != nil {
		return Result{}, fmt.Errorf("oci: %w", err)
	}
	err = atomicdir.Write(o.Out, func(dir string) error { return writeLayout(dir, img, o.Tag) })
	if err != nil {
		return Result{}, fmt.Errorf("oci: writing %s: %w", o.Out, err)
	}
	return res, nil
}

// image builds the single-layer image from the layer tarball.
func image(tarPath string, o Options) (v1.Image, error) {
	layer, err := tarball.LayerFromFile(tarPath, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	cmd := o.Cmd
	if cmd == nil {
		cmd = []string{"/sbin/init"}
	}
	created := v1.Time{Time: o.Epoch.UTC()}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "invenio-infra image --format oci"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = "amd64", "linux", created
	cf.Config.Cmd = cmd
	cf.Config.Labels = o.Labels
	return mutate.ConfigFile(img, cf)
}

// describe returns the digests and sizes of img.
func describe(img v1.Image) (Result, error) {
	d, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return Result{}, fmt.Errorf("image layers: %w", err)
	}
	if len(layers) != 1 {
		return Result{}, fmt.Errorf("image has %d layers, want 1", len(layers))
	}
	ld, err := layers[0].Digest()
	if err != nil {
		return Result{}, err
	}
	size, err := layers[0].Size()
	return Result{Digest: d, LayerDigest: ld, LayerSize: size}, err
}

// writeLayout writes a layout holding img into the empty directory dir.
func writeLayout(dir string, img v1.Image, tag string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	var opts []layout.Option
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{RefNameAnnotation: tag}))
	}
	return p.AppendImage(img, opts...)
}

// ReadImage returns the one image of the layout at dir.
func ReadImage(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("oci: %s is not an OCI layout: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) != 1 {
		return nil, fmt.Errorf("oci: layout %s holds %d images; want exactly one", dir, len(im.Manifests))
	}
	return idx.Image(im.Manifests[0].Digest)
}

// PushOptions tune Push.
type PushOptions struct {
	// Insecure allows plain http to the registry (e.g. one on loopback).
	Insecure bool
	// Keychain supplies credentials; default authn.DefaultKeychain
	// (docker's config.json, as `docker login` writes it).
	Keychain authn.Keychain
}

// Push sends the image of the layout at dir to ref (registry/repo:tag) and
// returns the pushed image's digest reference (registry/repo@sha256:…).
func Push(ctx context.Context, dir, ref string, o PushOptions) (string, error) {
	img, err := ReadImage(dir)
	if err != nil {
		return "", err
	}
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return "", fmt.Errorf("oci: reference %q: %w", ref, err)
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	if err := remote.Write(r, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)); err != nil {
		return "", fmt.Errorf("oci: pushing to %s: %w", r, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return r.Context().Digest(d.String()).String(), nil
}
