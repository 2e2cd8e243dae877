#!/usr/bin/env bash
# Root filesystem options: --image DIR, --writable, --persist, --net host.
. "$(dirname "$0")/lib.sh"

# A tiny image: bash and the libraries it needs, nothing else (no python).
IMG="$WORK/img"
mkdir -p "$IMG/bin" "$IMG/etc"
cp /bin/bash "$IMG/bin/"
for lib in $(ldd /bin/bash | grep -o '/[^ ]*'); do mkdir -p "$IMG$(dirname "$lib")"; cp -L "$lib" "$IMG$lib"; done
echo 'image-marker' > "$IMG/etc/marker"
ln -s bin "$IMG/sbin"
# (only bash builtins exist in there)
capture "$RUN" --image "$IMG" --cmd 'echo "$(</etc/marker)"; echo /*; command -v python3 || echo no-python'
is "$OUT" $'image-marker\n/bin /dev /etc /lib /lib64 /proc /sandbox /sbin /tmp\nno-python' "--image DIR is the root filesystem"
capture "$RUN" --image "$IMG" --cmd 'echo x > /etc/marker 2>/dev/null || echo ro'
is "$OUT" ro "--image is read-only"
is "$(cat "$IMG/etc/marker")" image-marker "the image directory is untouched"
capture "$RUN" --image "$IMG" -e 'print(1)'
like "$ERR" '^\[ERR\] runtime command "python3" not found in the sandbox' "a runtime missing from the image is a clear error"
is "$RC" 1 "…exit 1"

capture "$RUN" --writable --cmd 'mkdir /newdir && echo made > /newdir/f && cat /newdir/f; touch /usr/bin/x 2>&1 | grep -c denied'
is "$OUT" $'made\n1' "--writable: new paths can be created; root-owned files stay the root's"
capture "$RUN" --cmd 'mkdir /newdir 2>&1 | grep -c "Read-only"'
is "$OUT" 1 "without --writable the root is read-only"
capture "$RUN" --image "$IMG" --writable --cmd 'echo changed > /newfile && echo "$(</newfile)"; echo x > /etc/marker 2>/dev/null || echo etc-is-roots'
is "$OUT" $'changed\netc-is-roots' "--image --writable: writes land in a throw-away layer"
is "$(ls "$IMG/etc")" marker "…and the image is untouched"

# mountinfo must not tell the program where the run dir or the image live on the host
# (root field, mount source, overlay options): none of this test's /tmp paths may appear.
HOSTPATHS="$ISOL8_RUN_DIR|$WORK|$IMG|/tmp/"
for mode in "" --writable "--image $IMG" "--image $IMG --writable"; do
	capture "$RUN" $mode --cmd 'echo "$(</proc/self/mountinfo)"'
	like "$OUT" ' / / ' "mountinfo readable (${mode:-default})"
	unlike "$OUT" "$HOSTPATHS" "mountinfo shows no host path (${mode:-default})"
done
capture "$RUN" --image "$IMG" --cmd 'echo "$(</etc/marker)"; echo /*'
is "$OUT" $'image-marker\n/bin /dev /etc /lib /lib64 /proc /sandbox /sbin /tmp' "--image still shows the image's entries"

capture "$RUN" --persist --cmd 'echo kept > /sandbox/state; echo ran'
is "$OUT" ran "--persist runs the program"
like "$ERR" 'kept running \(init pid [0-9]+\)' "--persist says the sandbox is kept"
pid=$(printf '%s' "$ERR" | grep -o 'init pid [0-9]*' | grep -o '[0-9]*')
rec=$(ls "$ISOL8_RUN_DIR"/sandboxes/*.json)
is "$(jq -r .pid "$rec")" "$pid" "--persist leaves a run-dir record naming the init pid"
capture nsenter -t "$pid" -m -u -i -n -p -r -w setpriv --reuid=65534 --regid=65534 --clear-groups /bin/cat /sandbox/state
is "$OUT" kept "the printed nsenter command enters the kept sandbox"
capture "$BIN/isol8-cleanup" --persisted
is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "isol8-cleanup --persisted stops it"

capture "$RUN" --cmd 'hostname; cat /etc/hostname; ip -o link 2>/dev/null | wc -l || ls /sys/class/net 2>/dev/null | wc -l'
like "$OUT" '^sandbox' "the sandbox has its own hostname"

finish
