package ipc

import "encoding/binary"

// le is the byte order of every structure the application exchanges.
var le = binary.LittleEndian
