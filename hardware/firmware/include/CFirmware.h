/* Umbrella header of the Swift package's CFirmware target: the firmware core and the payload codec. */
#ifndef CFIRMWARE_H
#define CFIRMWARE_H
#include "occupancy_codec.h"
#include "sensor_core.h"
#endif
