// Package application holds what the use cases share: the policy
// configuration, the audit recorder, the login throttle guard and the
// types that cross from one capability to another. The use cases
// themselves live in the sub-packages by capability (signin, sessions,
// account, admin), each a small type holding only the ports it uses. No
// HTTP, SQL or JWT library type appears here.
package application
