// Package critical measures the critical batch size.
package critical
