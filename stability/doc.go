// Package stability measures algorithmic stability and puts it beside the
// bounds it is compared with.
package stability
