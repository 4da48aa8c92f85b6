// Package flow is the continuous-time view of training.
package flow
