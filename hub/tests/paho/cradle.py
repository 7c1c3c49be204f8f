"""A cradle as the field firmware is: paho-mqtt, random client id, no
credentials, keepalive 60, subscribes to its servo topic, publishes at QoS 0.

Run by the hub's integration tests (hub/tests/it/endpoint.rs) against the
real hub. Prints one JSON line per event on stdout so the test can follow:
  {"event": "subscribed", "granted": [...]}
  {"event": "servo", "payload": {...}}
  {"event": "done"}

--api 1 uses paho's VERSION1 callbacks (what the firmware's paho 1.6 code
looks like); --api 2 the VERSION2 ones.
"""

import argparse
import base64
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt


def say(**event):
    print(json.dumps(event), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--uuid", required=True)
    p.add_argument("--api", type=int, choices=(1, 2), default=1)
    p.add_argument("--frame", help="a JPEG file to send as frames")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--username")
    p.add_argument("--password")
    args = p.parse_args()

    servo = f"cradle/{args.uuid}/servo"
    subscribed = threading.Event()
    connected = threading.Event()
    refused = []

    if args.api == 1:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id="", clean_session=True)

        def on_connect(c, userdata, flags, rc):
            if rc != 0:
                refused.append(rc)
                connected.set()
                return
            connected.set()
            c.subscribe(servo, qos=0)

        def on_subscribe(c, userdata, mid, granted_qos):
            say(event="subscribed", granted=list(granted_qos))
            subscribed.set()

    else:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)

        def on_connect(c, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                refused.append(reason_code.value)
                connected.set()
                return
            connected.set()
            c.subscribe(servo, qos=0)

        def on_subscribe(c, userdata, mid, reason_codes, properties):
            say(event="subscribed", granted=[rc.value for rc in reason_codes])
            subscribed.set()

    def on_message(c, userdata, msg):
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            payload = None
        say(event="servo", topic=msg.topic, payload=payload)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    if args.username:
        client.username_pw_set(args.username, args.password)
    client.connect("127.0.0.1", args.port, keepalive=60)
    client.loop_start()
    if not connected.wait(10):
        say(event="error", reason="no CONNACK")
        sys.exit(2)
    if refused:
        say(event="refused", code=refused[0])
        client.loop_stop()
        sys.exit(3)
    if not subscribed.wait(10):
        say(event="error", reason="no SUBACK")
        sys.exit(2)

    jpeg = open(args.frame, "rb").read() if args.frame else None
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    deadline = time.time() + args.seconds
    n = 0
    while time.time() < deadline:
        if jpeg:
            client.publish(
                f"cradle/{args.uuid}/frame",
                json.dumps({"frame": base64.b64encode(jpeg).decode(), "timestamp": stamp}),
            )
        client.publish(
            f"cradle/{args.uuid}/direction",
            json.dumps({"direction": "정면 유지 중", "timestamp": stamp}),
        )
        if n % 10 == 0:
            # A string, as the serial line gives it; extra fields are allowed.
            client.publish(
                f"cradle/{args.uuid}/temperature",
                json.dumps({"temperature": "36.9", "extra": 1}),
            )
            client.publish(
                f"cradle/{args.uuid}/crying",
                json.dumps({"status": "Silent", "probability": 0.1, "timestamp": stamp}),
            )
        n += 1
        time.sleep(0.1)
    client.disconnect()
    client.loop_stop()
    say(event="done", sent=n)


if __name__ == "__main__":
    main()
