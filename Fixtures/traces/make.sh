#!/usr/bin/env bash
# Builds the trace fixtures with this project's own encoders (frame and payload), in the shapes the formats'
# documents give. Run from the package root after `make build`: bash Fixtures/traces/make.sh
set -euo pipefail
LH=${LH:-.build/debug/loraharness}
K=Fixtures/traces/keys.yaml
D=Fixtures/traces
b64() { xxd -r -p | base64 -w0; }
phy() { "$LH" frame encode --keys "$K" "$@" --json | sed -n 's/.*"hex" *: *"\([0-9a-f]*\)".*/\1/p'; }
pay() { "$LH" codec encode "$@" --json | sed -n 's/.*"hex" *: *"\([0-9a-f]*\)".*/\1/p'; }

# Bay sensor 26011BDA (70B3D57ED0000101): a car parks and leaves twice; FCnt 4 is lost on the air.
P1=$(pay --message bay-state occupied=true changes=1 history=0)
P2=$(pay --message bay-state occupied=false changes=2 history=0,600)
P3=$(pay --message bay-state occupied=true changes=3 history=0,1200,1800)
P5=$(pay --message bay-state occupied=true changes=5 history=0,300,1200,2400,3000)
P6=$(pay --message bay-state occupied=false changes=6 history=0,900,1200,2100,3300,3900)
# Gate counter 26011BDB (70B3D57ED0000102).
G1=$(pay --message gate-counts in=3 out=1 history=120:2:1)
G2=$(pay --message gate-counts in=5 out=2 history=120:3:1)

F1=$(phy --dev-addr 26011BDA --fcnt 1 --fport 10 --payload "$P1")
F2=$(phy --dev-addr 26011BDA --fcnt 2 --fport 10 --payload "$P2")
F3=$(phy --dev-addr 26011BDA --fcnt 3 --fport 10 --payload "$P3")
F5=$(phy --dev-addr 26011BDA --fcnt 5 --fport 10 --payload "$P5")
F6=$(phy --dev-addr 26011BDA --fcnt 6 --fport 10 --payload "$P6")
H1=$(phy --dev-addr 26011BDB --fcnt 7 --fport 10 --payload "$G1")
H2=$(phy --dev-addr 26011BDB --fcnt 8 --fport 10 --payload "$G2")
J1=$(phy --type join-request --dev-eui 70B3D57ED0000104 --dev-nonce 33)
# A device whose keys nobody gave us.
OTHER=$(mktemp)
printf 'sessions:\n  - devAddr: 26FFFFFF\n    nwkSKey: 00112233445566778899AABBCCDDEEFF\n    appSKey: FFEEDDCCBBAA99887766554433221100\n' > "$OTHER"
chmod 600 "$OTHER"
U1=$("$LH" frame encode --keys "$OTHER" --dev-addr 26FFFFFF --fcnt 40 --fport 2 --payload 01020304 --json | sed -n 's/.*"hex" *: *"\([0-9a-f]*\)".*/\1/p')
rm -f "$OTHER"

rx() { # time freq datr phyhex rssi lsnr
  local size=$(( ${#4} / 2 ))
  printf '{"rxpk":[{"time":"%s","tmst":%s,"chan":0,"rfch":0,"freq":%s,"stat":1,"modu":"LORA","datr":"%s","codr":"4/5","rssi":%s,"lsnr":%s,"size":%s,"data":"%s"}]}' \
    "$1" "$RANDOM$RANDOM" "$2" "$3" "$5" "$6" "$size" "$(printf %s "$4" | b64)"
}
{
  echo "INFO: [main] concentrator started, packet can now be received"
  echo "JSON up: $(rx 2026-06-06T09:00:00.100000Z 868.1 SF7BW125 "$F1" -71 9.5)"
  echo "JSON up: $(rx 2026-06-06T09:00:00.100000Z 868.1 SF7BW125 "$F1" -98 1.2)"
  echo "JSON up: $(rx 2026-06-06T09:00:30.000000Z 868.3 SF12BW125 "$J1" -110 -7.0)"
  echo "JSON up: $(rx 2026-06-06T09:10:00.250000Z 868.3 SF7BW125 "$F2" -72 9.0)"
  echo "### [UPSTREAM] ###"
  echo "JSON up: $(rx 2026-06-06T09:12:00.500000Z 868.5 SF9BW125 "$H1" -104 -2.5)"
  echo "JSON up: $(rx 2026-06-06T09:30:00.000000Z 868.5 SF7BW125 "$F3" -70 9.8)"
  echo "JSON up: $(rx 2026-06-06T09:31:00.000000Z 868.1 SF9BW125 "$H2" -103 -2.0)"
  echo "JSON up: $(rx 2026-06-06T09:40:00.000000Z 868.1 SF7BW125 "$F5" -71 9.1)"
  echo "JSON up: $(rx 2026-06-06T09:50:00.000000Z 868.5 SF8BW125 "$U1" -101 3.0)"
  echo "JSON up: $(rx 2026-06-06T09:55:00.000000Z 868.3 SF7BW125 "$F6" -69 10.0)"
} > "$D/semtech-gateway.log"

# The network server's view of the same uplinks (decrypted payloads, no MIC), in The Things Stack's and ChirpStack's
# shapes. consumed_airtime: the airtime The Things Stack computes for the whole frame.
air() { "$LH" airtime --sf "$1" --bw 125 --payload "$2" --json | sed -n 's/.*"airtimeNanoseconds" *: *\([0-9]*\).*/\1/p'; }
tts() { # time devEUI devAddr fcnt payloadhex sf freq
  local n=$(( ${#5} / 2 + 13 ))
  local a=$(air "$6" "$n")
  printf '{"end_device_ids":{"device_id":"sensor-%s","application_ids":{"application_id":"recycling"},"dev_eui":"%s","dev_addr":"%s"},"received_at":"%s","uplink_message":{"f_port":10,"f_cnt":%s,"frm_payload":"%s","rx_metadata":[{"gateway_ids":{"gateway_id":"gw-lorient"},"rssi":-71,"snr":9.5}],"settings":{"data_rate":{"lora":{"bandwidth":125000,"spreading_factor":%s,"coding_rate":"4/5"}},"frequency":"%s"},"consumed_airtime":"%s.%09ds"}}\n' \
    "${2: -4}" "$2" "$3" "$1" "$4" "$(printf %s "$5" | b64)" "$6" "$7" "$((a / 1000000000))" "$((a % 1000000000))"
}
{
  tts 2026-06-06T09:00:00.100Z 70B3D57ED0000101 26011BDA 1 "$P1" 7 868100000
  tts 2026-06-06T09:10:00.250Z 70B3D57ED0000101 26011BDA 2 "$P2" 7 868300000
  tts 2026-06-06T09:12:00.500Z 70B3D57ED0000102 26011BDB 7 "$G1" 9 868500000
  tts 2026-06-06T09:30:00.000Z 70B3D57ED0000101 26011BDA 3 "$P3" 7 868500000
  tts 2026-06-06T09:31:00.000Z 70B3D57ED0000102 26011BDB 8 "$G2" 9 868100000
  tts 2026-06-06T09:40:00.000Z 70B3D57ED0000101 26011BDA 5 "$P5" 7 868100000
  tts 2026-06-06T09:55:00.000Z 70B3D57ED0000101 26011BDA 6 "$P6" 7 868300000
} > "$D/tts-uplinks.ndjson"

cs() { # time devEUI devAddr fcnt payloadhex sf freq
  printf '{"deduplicationId":"3ac7e3c4-4401-4b8d-9386-a5c902f9202%s","time":"%s","deviceInfo":{"tenantName":"Lorient","applicationName":"recycling","deviceName":"sensor-%s","devEui":"%s"},"devAddr":"%s","adr":true,"dr":5,"fCnt":%s,"fPort":10,"confirmed":false,"data":"%s","rxInfo":[{"gatewayId":"0016c001ff10a235","uplinkId":1,"rssi":-71,"snr":9.5,"channel":0,"location":{},"context":"AAAAAA==","crcStatus":"CRC_OK"}],"txInfo":{"frequency":%s,"modulation":{"lora":{"bandwidth":125000,"spreadingFactor":%s,"codeRate":"CR_4_5"}}}}\n' \
    "$4" "$1" "${2: -4}" "$2" "$3" "$4" "$(printf %s "$5" | b64)" "$7" "$6"
}
{
  cs 2026-06-06T09:00:00.100Z 70b3d57ed0000101 26011bda 1 "$P1" 7 868100000
  cs 2026-06-06T09:10:00.250Z 70b3d57ed0000101 26011bda 2 "$P2" 7 868300000
  cs 2026-06-06T09:12:00.500Z 70b3d57ed0000102 26011bdb 7 "$G1" 9 868500000
  cs 2026-06-06T09:30:00.000Z 70b3d57ed0000101 26011bda 3 "$P3" 7 868500000
} > "$D/chirpstack-up.ndjson"

printf 'dev_eui,site,kind,slot\n70B3D57ED0000101,rc-01,bay,0\n70B3D57ED0000102,rc-01,gate,0\n' > "$D/sites.csv"
echo "wrote $D/semtech-gateway.log $D/tts-uplinks.ndjson $D/chirpstack-up.ndjson $D/sites.csv"
