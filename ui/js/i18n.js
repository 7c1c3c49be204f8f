// Every UI string in English and Korean. The choice is kept in
// localStorage; the hub gets it as Accept-Language on every request so its
// messages (errors, alerts) come in the same language.

/**
 * @typedef {Record<string, string | number>} Vars
 * @typedef {string | ((v: Vars) => string)} Entry
 */

/** @param {number | string | undefined} n @param {string} one @param {string} many */
const plural = (n, one, many) => (Number(n) === 1 ? one : many);

const en = {
  'app.name': 'Cradle Hub',
  'nav.live': 'Cradle',
  'nav.alerts': 'Alerts',
  'nav.history': 'History',
  'nav.settings': 'Settings',
  'nav.main': 'Main',

  'conn.live': 'Live',
  'conn.connecting': 'Connecting…',
  'conn.reconnecting': 'Reconnecting…',
  'conn.offline': 'Offline',
  'conn.reconnectingLong': 'Lost contact with the hub — reconnecting…',
  'conn.offlineLong': 'This device is offline. Live data resumes when it is back online.',

  'common.loading': 'Loading…',
  'common.retry': 'Try again',
  'common.cancel': 'Cancel',
  'common.dismiss': 'Dismiss',

  'error.unreachable': 'The hub cannot be reached. Check that it is on and that you are on the same network.',
  'error.unexpected': 'Something went wrong. Please try again.',
  /** @type {Entry} */
  'error.generic': (v) => `The hub answered with an error (${v.status}).`,

  'unreachable.title': 'Looking for the hub…',
  'unreachable.body': 'The hub is not answering. It may be restarting; this page keeps trying.',

  'health.title': 'The hub may miss alerts',
  'health.advice': 'Check on your baby in person until this message goes away. Restarting the hub may help.',
  'health.ingestStopped': 'The hub has stopped receiving data from the cradles.',
  'health.writesFailing': 'The hub cannot save data.',
  'health.diskNearlyFull': 'The hub’s disk is nearly full.',
  /** @type {Entry} */
  'health.diskNearlyFullLeft': (v) => `The hub’s disk is nearly full (${v.left} left).`,
  'health.diskFull': 'The hub’s disk is full: new readings and recordings are not saved.',
  'health.dbUnreadable': 'The hub cannot read its saved data.',
  'health.writerStopped': 'The part of the hub that saves data has stopped.',
  'health.mqtt': 'The hub cannot talk to the cradles right now.',
  'health.alertTickerStopped': 'The hub’s alert checks have stopped.',
  'health.motorStopped': 'The hub’s rocking control has stopped.',
  'health.maintenanceStopped': 'The hub’s clean-up of old data has stopped.',
  'health.sessionsStopped': 'The hub’s clean-up of old logins has stopped.',
  /** @type {Entry} */
  'health.taskStopped': (v) => `A part of the hub has stopped working (${v.name}).`,
  'health.unknown': 'The hub reports a problem with itself.',
  /** @type {Entry} */
  'health.other': (v) => `The hub reports a problem: ${v.problem}`,

  'auth.loginTitle': 'Log in',
  'auth.signupTitle': 'Create an account',
  'auth.tagline': 'Watch, rock and get alerts from your cradles — all on your home network.',
  'auth.username': 'Username',
  'auth.password': 'Password',
  'auth.usernameHint': 'Up to 64 characters.',
  'auth.usernameInvalid': 'No spaces at the start or end, at most 64 characters.',
  'auth.passwordHint': 'At least 4 characters.',
  'auth.checking': 'Checking…',
  'auth.available': '✓ This name is available.',
  'auth.taken': 'This name is already taken.',
  'auth.showPassword': 'Show password',
  'auth.login': 'Log in',
  'auth.createAccount': 'Create account',
  'auth.noAccount': 'New here?',
  'auth.haveAccount': 'Already have an account?',
  'auth.needUsername': 'Enter a username.',
  'auth.needPassword': 'Enter a password.',
  'auth.signedOut': 'You were signed out on this device.',
  'auth.signedOutWhy': 'Another device signed it out, the account’s password was changed, or it was not used for a long time. Log in again to continue.',

  'welcome.title': 'Add your first cradle',
  'welcome.body': 'Your account has no cradle yet. It takes a minute:',
  'welcome.step1': 'Switch the cradle on and connect it to the same Wi-Fi as this hub.',
  'welcome.step2': 'Find the QR code on the cradle (its screen or label).',
  'welcome.step3': 'Scan it with your camera, take a photo of it, or type the id printed under it.',
  'welcome.add': 'Add a cradle',

  'add.title': 'Add a cradle',
  'add.intro': 'Every cradle shows a QR code with its id. Use whichever way is easiest.',
  'add.cameraTitle': 'Scan with the camera',
  'add.cameraBody': 'Point the camera at the QR code and hold still.',
  'add.cameraNeedsSecure':
    'Live scanning needs a secure (https) page or this computer’s own address. Take a photo instead — it works everywhere.',
  'add.cameraView': 'Camera view',
  'add.startCamera': 'Start the camera',
  'add.stopCamera': 'Stop the camera',
  'add.looking': 'Looking for a QR code…',
  'add.noCamera': 'No camera could be opened. Take a photo or type the id instead.',
  'add.cameraDenied': 'The camera is blocked for this page. Allow it in the browser, or take a photo instead.',
  'add.photoTitle': 'Take or upload a photo',
  'add.photoBody': 'A clear photo of the QR code, close up and in good light.',
  'add.choosePhoto': 'Take or choose a photo',
  'add.photoAlt': 'The photo you chose',
  'add.reading': 'Reading the photo…',
  'add.noQr': 'No QR code found in this photo. Try again closer to the code, with more light.',
  'add.notImage': 'That file is not a picture we can read. Use a JPEG or PNG photo.',
  'add.idTitle': 'Type the id',
  'add.idLabel': 'Cradle id',
  'add.idHint': 'Printed under the QR code, e.g. cradle-1234.',
  'add.needId': 'Enter the cradle’s id.',
  'add.addButton': 'Add cradle',
  /** @type {Entry} */
  'add.found': (v) => `Found cradle “${v.id}”.`,
  /** @type {Entry} */
  'add.adding': (v) => `Adding cradle “${v.id}”…`,
  /** @type {Entry} */
  'add.unknown': (v) =>
    `The hub has never heard from cradle “${v.id}”. Make sure it is switched on and on the same Wi-Fi, wait a minute and try again.`,
  /** @type {Entry} */
  'add.taken': (v) => `Cradle “${v.id}” already belongs to another account. Its owner has to remove it first.`,

  'live.title': 'Cradle',
  'live.readings': 'Readings',
  'live.pillLive': 'Live',
  'live.pillSilent': 'Silent',
  'live.pillWaiting': 'Waiting',
  'live.pillNoHub': 'No connection',
  'live.announceSilent': 'The cradle has stopped reporting.',
  'live.announceLive': 'The cradle is reporting again.',
  /** @type {Entry} */
  'live.noHubSince': (v) => `No contact with the hub — reconnecting… Last reading ${v.ago}.`,
  /** @type {Entry} */
  'live.pictureAlt': (v) => `Live picture of ${v.name}`,
  'live.waiting': 'Waiting for the cradle’s first reading…',
  /** @type {Entry} */
  'live.silentSince': (v) => `Cradle silent since ${v.time} (${v.ago}). Check its power and Wi-Fi.`,
  'live.noPicture': 'No picture from the camera yet.',
  /** @type {Entry} */
  'live.pictureStopped': (v) => `The picture stopped ${v.ago}.`,
  'live.rockingBadge': 'Rocking',
  'live.startRocking': 'Start rocking',
  'live.stopRocking': 'Stop rocking',
  'live.rockingNow': 'The cradle is rocking',
  'live.notRocking': 'The cradle is still',
  'live.rockHint': 'Gently rocks the cradle',
  'live.sending': 'Sending…',
  'live.temperature': 'Temperature',
  'live.crying': 'Crying',
  'live.face': 'Face',
  'live.lastReading': 'Last reading',
  /** @type {Entry} */
  'live.measured': (v) => `Measured ${v.ago}`,
  /** @type {Entry} */
  'live.heard': (v) => `Checked ${v.ago}`,
  'live.frontalNow': 'Facing the camera now',
  /** @type {Entry} */
  'live.lastKnown': (v) => `Last known, ${v.ago}`,
  /** @type {Entry} */
  'live.notFrontalFor': (v) => `Not facing the camera for ${v.d}`,
  'live.neverFrontal': 'Not seen facing the camera yet',
  'live.noData': 'Nothing received yet',
  /** @type {Entry} */
  'live.openAlerts': (v) => `⚠ ${v.n} ${plural(v.n, 'alert', 'alerts')}`,

  'live.pillOffline': 'Cradle offline',
  /** @type {Entry} */
  'live.offlineSince': (v) => `Cradle offline since ${v.since} — last seen ${v.seen}`,
  /** @type {Entry} */
  'live.offlineSeen': (v) => `Cradle offline — last seen ${v.seen}`,
  'live.offlineNever': 'Cradle offline',
  /** @type {Entry} */
  'live.offlineAt': (v) => `Cradle offline since ${v.since}`,
  /** @type {Entry} */
  'live.offlineFor': (v) => `Offline for ${v.d}.`,
  /** @type {Entry} */
  'live.offlineOverlay': (v) => `Offline — no new picture since ${v.time}`,
  'live.offlineNoPicture': 'Offline — no picture',
  'live.announceOffline': 'The cradle is offline.',
  'live.rockOffline': 'Not possible: the cradle is offline',
  'live.toPassword': 'Password settings',
  /** @type {Entry} */
  'live.stopsIn': (v) => `Stops by itself in ${v.t}`,
  'live.byYou': 'started by you',
  /** @type {Entry} */
  'live.byUser': (v) => `started by ${v.name}`,
  'live.byParent': 'started from the app',
  'live.bySoothing': 'started by soothing (the baby cried)',
  /** @type {Entry} */
  'live.retryIn': (v) => `You can try again in ${v.s} s.`,

  'motor.title': 'Motor history',
  'motor.hint': 'Every start and stop of this cradle’s motor, newest first.',
  'motor.empty': 'No motor commands yet.',
  'motor.start': 'Started rocking',
  'motor.stop': 'Stopped rocking',
  'motor.startTried': 'Tried to start rocking',
  'motor.stopTried': 'Tried to stop rocking',
  'motor.byYou': 'by you',
  /** @type {Entry} */
  'motor.byUser': (v) => `by ${v.name}`,
  'motor.byParent': 'from the app',
  'motor.bySoothing': 'by soothing',
  'motor.byAutomatic': 'the hub (automatic stop)',
  'motor.refused': 'Refused: too many commands, or too soon after a stop',
  'motor.notConnected': 'Not sent: the cradle was not connected',
  'motor.notSent': 'Not sent',
  'motor.loadError': 'The motor history could not be loaded.',

  'reason.disconnect': 'The cradle closed its connection: it was switched off or is restarting.',
  'reason.keepalive_expired': 'The cradle stopped answering. It may have lost power or Wi-Fi.',
  'reason.socket_closed': 'The connection to the cradle was cut. Check its power and Wi-Fi.',
  'reason.socket_error': 'A network error cut the connection. Check the cradle’s Wi-Fi.',
  'reason.write_stalled': 'The cradle stopped taking messages. Its Wi-Fi may be weak.',
  'reason.takeover': 'Another device connected with this cradle’s id and replaced it.',
  'reason.protocol_error': 'The cradle sent something the hub could not read. Restarting the cradle may help.',
  'reason.password_required': 'The cradle did not send the right password. Enter the password in the cradle, or turn the password off in Settings.',
  'reason.connect_refused': 'The hub refused the cradle’s connection.',
  'reason.store_failure': 'The hub could not save the cradle’s readings and closed the connection.',
  'reason.hub_shutdown': 'The hub was restarting.',
  'reason.none': 'Nothing received for over a minute. Check its power and Wi-Fi.',
  'reason.other': 'The connection was lost. Check its power and Wi-Fi.',

  'presence.online': 'Online',
  'presence.offline': 'Offline',
  'presence.never': 'Not connected yet',
  /** @type {Entry} */
  'presence.offlineSince': (v) => `Offline since ${v.time}`,
  'presence.headerOne': 'Cradle offline',
  /** @type {Entry} */
  'presence.headerMany': (v) => `${v.n} cradles offline`,
  'presence.passwordOn': 'Password required',

  'cradle.switch': 'Choose a cradle',
  'cry.crying': 'Crying',
  'cry.calm': 'Calm',
  'dir.frontal': 'Facing the camera',
  'dir.left': 'Turned left',
  'dir.right': 'Turned right',
  'dir.no_face': 'Face not visible',
  'dir.detector_error': 'Camera can’t tell',
  'dir.checking': 'Checking…',
  'dir.other': 'Unknown position',

  /** @type {Entry} */
  'time.ago': (v) => `${v.d} ago`,
  'time.justNow': 'just now',
  /** @type {Entry} */
  'time.today': (v) => `today ${v.time}`,
  /** @type {Entry} */
  'time.yesterday': (v) => `yesterday ${v.time}`,
  /** @type {Entry} */
  'dur.s': (v) => `${v.s} s`,
  /** @type {Entry} */
  'dur.m': (v) => `${v.m} min`,
  /** @type {Entry} */
  'dur.ms': (v) => `${v.m} min ${v.s} s`,
  /** @type {Entry} */
  'dur.hm': (v) => `${v.h} h ${v.m} min`,
  'unit.seconds': 's',
  'unit.minutes': 'min',

  'alertType.high_temperature': 'High temperature',
  'alertType.crying': 'Crying',
  'alertType.abnormal_position': 'Face turned away',
  'alertType.face_not_detected': 'Face not detected',
  'alertType.cradle_offline': 'Cradle offline',
  'alertType.camera_silent': 'Camera silent',
  'alertType.sensor_fault': 'Thermometer fault',
  'alertType.other': 'Alert',
  /** @type {Entry} */
  'alertMsg.high_temperature': (v) => `The temperature reached ${v.t}.`,
  'alertMsg.crying': 'The baby has been crying for a while.',
  'alertMsg.abnormal_position': 'The baby’s face has been turned away for a while.',
  'alertMsg.face_not_detected': 'The baby’s face has not been seen for a while.',
  'alertMsg.cradle_offline': 'The cradle is offline: nothing has been heard from it for a while.',
  'alertMsg.camera_silent': 'The camera sends no picture, though the sensors report.',
  'alertMsg.sensor_fault': 'The thermometer sends nothing usable, though other readings arrive.',
  'alertMsg.soothingFailed': 'Rocked for a while, and the baby is still crying.',

  'alerts.title': 'Alerts',
  'alerts.alert': 'Alert',
  'alerts.last24h': 'The last 24 hours, unresolved first.',
  /** @type {Entry} */
  'alerts.unresolvedN': (v) => `${v.n} unresolved`,
  'alerts.allClear': 'All clear — nothing needs your attention.',
  'alerts.none': 'No alerts in the last 24 hours.',
  'alerts.open': 'Unresolved',
  'alerts.resolved': 'Resolved',
  /** @type {Entry} */
  'alerts.resolvedAt': (v) => `Resolved ${v.time}`,
  'alerts.resolve': 'Mark as resolved',
  'alerts.resolvedOk': 'Marked as resolved.',
  'alerts.view': 'View',
  'alerts.critical': 'Urgent',
  'alerts.reminder': 'Still unresolved',
  'alerts.reminderToast': 'Reminder — still unresolved',
  'alerts.back': 'All alerts',
  'alerts.clip': 'Recording',
  'alerts.clipLabel': 'Video recorded around the alert',
  'alerts.noClip': 'No video was recorded for this alert.',
  'alerts.clipSoon': 'The recording is starting; reload in a moment.',
  'alerts.clipError': 'The video could not be played.',
  'alerts.reloadClip': 'Load the full recording',
  /** @type {Entry} */
  'alerts.recordingUntil': (v) => `Still recording until ${v.time}; the full clip follows automatically.`,
  /** @type {Entry} */
  'alerts.clipFrames': (v) => `${v.n} frames over ${v.d}.`,
  'alerts.readings': 'Readings around the alert',
  'alerts.readingsTable': 'Readings every 5 seconds',
  'alerts.colTime': 'Time',
  'alerts.notFound': 'This alert no longer exists.',

  'chart.temperature': 'Temperature',
  'chart.threshold': 'Alert limit',
  'chart.crying': 'Crying',
  'chart.turned': 'Turned away',
  'chart.noDataShort': 'No data',
  'chart.cryShort': 'Cry',
  'chart.faceShort': 'Face',
  'chart.noData': 'No readings in this period.',
  /** @type {Entry} */
  'chart.limit': (v) => `limit ${v.t}`,
  /** @type {Entry} */
  'chart.summary': (v) => `Temperature chart: between ${v.min} and ${v.max}.`,

  'history.title': 'History',
  'history.today': 'Today',
  'history.pickDay': 'Day',
  'history.prevDay': 'Previous day',
  'history.nextDay': 'Next day',
  'history.readings': 'Temperature, crying and face',
  'history.zoom': 'Time span',
  'history.zoomData': 'Active time',
  'history.zoomDay': 'Whole day',
  /** @type {Entry} */
  'history.loading': (v) => `Loading readings… ${v.done} of ${v.total} hours`,
  'history.noReadings': 'No readings on this day.',
  'history.lowest': 'Lowest',
  'history.highest': 'Highest',
  'history.cryingTime': 'Crying',
  'history.awayTime': 'Face turned away',
  'history.recordings': 'Recordings',
  'history.recordingsHint': 'Minutes recorded around alerts. Tap one to play it.',
  'history.noRecordings': 'No recordings on this day.',
  /** @type {Entry} */
  'history.recordingAt': (v) => `Recording at ${v.time}, ${v.n} frames`,
  /** @type {Entry} */
  'history.playing': (v) => `Playing the minute from ${v.time}.`,
  'history.videoError': 'This recording could not be played.',

  'settings.title': 'Settings',
  /** @type {Entry} */
  'settings.alertsFor': (v) => `Alerts for ${v.name}`,
  'settings.maxTemp': 'Alert above this temperature',
  'settings.maxTempHint': 'Between 30 and 45 °C. The default is 38 °C.',
  'settings.cryFor': 'Alert when crying lasts',
  'settings.cryForHint': 'Seconds of continuous crying (0 = at once).',
  'settings.awayFor': 'Alert when the face is turned away or not seen for',
  'settings.awayForHint': 'Seconds (0 = at once).',
  'settings.push': 'Push notifications',
  'settings.pushHint': 'Notify screens and phones that listen to this hub.',
  'settings.email': 'Email notifications',
  'settings.emailHint': 'Only if the hub has been set up to send email.',
  'settings.groupBaby': 'Baby',
  'settings.groupOffline': 'Cradle offline',
  'settings.offlineAlert': 'Alert when the cradle goes offline',
  'settings.offlineAlertHint': 'It lost power or Wi-Fi, or stopped answering.',
  'settings.offlineAfter': 'Alert when it has been offline for',
  'settings.offlineAfterHint': 'Between 10 and 3600 seconds. The default is 60.',
  'settings.groupCamera': 'Camera',
  'settings.cameraAlert': 'Alert when the camera stops',
  'settings.cameraAlertHint': 'No picture while the cradle’s sensors still report.',
  'settings.cameraAfter': 'Alert when there has been no picture for',
  'settings.cameraAfterHint': 'Between 10 and 3600 seconds. The default is 60.',
  'settings.groupThermometer': 'Thermometer',
  'settings.sensorAlert': 'Alert when the thermometer fails',
  'settings.sensorAlertHint': 'No usable temperature for 5 minutes while other readings arrive.',
  'settings.groupMotor': 'Motor & soothing',
  'settings.maxRock': 'Rocking stops by itself after',
  'settings.maxRockHint': 'Between 1 and 60 minutes. The default is 15.',
  'settings.soothing': 'Rock automatically when the baby cries',
  'settings.soothingHint': 'Stops after a minute of quiet. Your own start or stop pauses it for 10 minutes.',
  'settings.sootheAfter': 'Start rocking when crying has lasted',
  'settings.sootheAfterHint': 'Between 5 and 600 seconds. The default is 20.',
  'settings.sootheMinutes': 'Rock for at most',
  'settings.sootheMinutesHint': 'Between 1 and 60 minutes. The default is 5. Still crying after that: an urgent alert.',
  'settings.groupNotify': 'How to alert',
  /** @type {Entry} */
  'settings.rangeSeconds': (v) => `Enter whole seconds between ${v.min} and ${v.max}.`,
  /** @type {Entry} */
  'settings.rangeMinutes': (v) => `Enter whole minutes between ${v.min} and ${v.max}.`,
  'settings.save': 'Save',
  'settings.saved': 'Saved.',
  'settings.tempRange': 'Enter a temperature between 30 and 45 °C.',
  'settings.secondsRange': 'Enter whole seconds between 0 and 86400.',
  'settings.language': 'Language',
  'settings.thisDevice': 'Notifications on this device',
  'settings.allowNotify': 'Allow notifications',
  'settings.notifyHint': 'Get a system notification for alerts while this page is open in the background.',
  'settings.notifyOn': 'Notifications are on for this browser.',
  'settings.notifyDenied': 'Notifications are blocked in this browser’s settings.',
  'settings.notifyUnsupported': 'This browser cannot show notifications.',
  'settings.hubTitle': 'Open on your phone',
  'settings.hubHint': 'Scan this code with a phone on the same Wi-Fi to open the hub.',
  'settings.hubLoopback': 'This hub only listens on this computer. For phones on the Wi-Fi, start it with',
  'settings.hubQrAlt': 'QR code of the hub’s address',
  'settings.hubCa': 'First time on a phone? Install the hub’s certificate',
  /** @type {Entry} */
  'settings.hubQrAltUrl': (v) => `QR code of the hub’s address ${v.url}`,
  /** @type {Entry} */
  'settings.version': (v) => `Cradle Hub ${v.v}`,
  'settings.cradles': 'Your cradles',
  'settings.noCradles': 'No cradle yet.',
  'settings.addCradle': 'Add a cradle',
  'settings.remove': 'Remove',
  /** @type {Entry} */
  'settings.removeNamed': (v) => `Remove ${v.name}`,
  /** @type {Entry} */
  'settings.removeConfirm': (v) => `Remove ${v.name}? Its readings, recordings, alerts and settings are deleted.`,
  'settings.removeYes': 'Yes, remove',
  /** @type {Entry} */
  'settings.removed': (v) => `${v.name} was removed.`,
  'settings.account': 'Account',
  /** @type {Entry} */
  'settings.loggedInAs': (v) => `Logged in as ${v.name}.`,
  'settings.logout': 'Log out',

  'devices.title': 'Signed-in devices',
  'devices.intro': 'Phones and computers where this account is signed in. Sign out any you do not recognise or no longer use.',
  'devices.loadError': 'The list of devices could not be loaded.',
  'devices.onlyThis': 'Only this device is signed in.',
  'devices.thisDevice': 'This device',
  'devices.signOut': 'Sign out',
  /** @type {Entry} */
  'devices.signOutNamed': (v) => `Sign out ${v.name}`,
  /** @type {Entry} */
  'devices.signedOutOne': (v) => `${v.name} was signed out.`,
  'devices.gone': 'That device was already signed out.',
  'devices.signOutOthers': 'Sign out all other devices',
  /** @type {Entry} */
  'devices.othersConfirm': (v) =>
    `Sign out ${plural(v.n, 'the other device', `the ${v.n} other devices`)}? ${plural(v.n, 'It needs', 'They need')} the password to sign in again. This device stays signed in.`,
  'devices.othersYes': 'Yes, sign out',
  /** @type {Entry} */
  'devices.othersDone': (v) =>
    Number(v.n) === 0 ? 'No other device was signed in.' : `${v.n} other ${plural(v.n, 'device was', 'devices were')} signed out.`,
  /** @type {Entry} */
  'devices.signedIn': (v) => `Signed in ${v.when}`,
  /** @type {Entry} */
  'devices.lastActive': (v) => `Last active ${v.when}`,
  /** @type {Entry} */
  'devices.from': (v) => `IP ${v.ip}`,
  'devices.unknown': 'Unknown device',
  /** @type {Entry} */
  'devices.on': (v) => `${v.browser} on ${v.os}`,
  'devices.browser': 'Browser',
  'devices.app': 'Cradle Hub app',

  'account.pwTitle': 'Change password',
  'account.pwIntro': 'Changing it signs out every other device; this one stays signed in.',
  'account.current': 'Current password',
  'account.new': 'New password',
  'account.newHint': 'At least 4 characters.',
  'account.repeat': 'Repeat the new password',
  'account.show': 'Show passwords',
  'account.pwSave': 'Change password',
  'account.needCurrent': 'Enter your current password.',
  'account.tooShort': 'The new password needs at least 4 characters.',
  'account.mismatch': 'The two new passwords are not the same.',
  'account.wrongCurrent': 'The current password is not right.',
  'account.pwChanged': 'Password changed. Every other device was signed out; this one stays signed in.',

  /** @type {Entry} */
  'pw.title': (v) => `Connection password for ${v.name}`,
  'pw.switch': 'Require a password for this cradle',
  'pw.hintOff': 'Off: the cradle connects without a password, as today’s firmware does.',
  /** @type {Entry} */
  'pw.hintOn': (v) => `On: the cradle must connect with the username ${v.user} and its password.`,
  'pw.warning': 'Only turn this on if your cradle’s firmware can send a username and password; otherwise it will stop connecting.',
  'pw.confirmOn': 'Require a password? The cradle is disconnected at once and can only reconnect with the password shown next.',
  'pw.yesOn': 'Yes, require a password',
  'pw.generate': 'Generate a new password',
  'pw.confirmNew': 'Generate a new password? The current one stops working at once: the cradle stays disconnected until you enter the new one in it.',
  'pw.yesNew': 'Yes, generate a new one',
  'pw.saving': 'Saving…',
  'pw.onceTitle': 'Enter these in the cradle now',
  'pw.username': 'Username',
  'pw.password': 'Password',
  'pw.once': 'This password is shown only once. If you lose it, generate a new one.',
  'pw.copy': 'Copy',
  'pw.copied': 'Copied ✓',
  'pw.copyUsername': 'Copy the username',
  'pw.copyPassword': 'Copy the password',
  'pw.copyFailed': 'Could not copy. Select the text and copy it by hand.',
  'pw.hide': 'Done, hide it',
};

/** @typedef {keyof typeof en} Key */

/** @type {Record<Key, Entry>} */
const ko = {
  'app.name': 'Cradle Hub',
  'nav.live': '요람',
  'nav.alerts': '알림',
  'nav.history': '기록',
  'nav.settings': '설정',
  'nav.main': '주 메뉴',

  'conn.live': '실시간',
  'conn.connecting': '연결 중…',
  'conn.reconnecting': '다시 연결 중…',
  'conn.offline': '오프라인',
  'conn.reconnectingLong': '허브와 연결이 끊겼습니다 — 다시 연결 중…',
  'conn.offlineLong': '이 기기가 오프라인입니다. 다시 연결되면 실시간 정보가 이어집니다.',

  'common.loading': '불러오는 중…',
  'common.retry': '다시 시도',
  'common.cancel': '취소',
  'common.dismiss': '닫기',

  'error.unreachable': '허브에 연결할 수 없습니다. 허브가 켜져 있고 같은 네트워크에 있는지 확인하세요.',
  'error.unexpected': '문제가 발생했습니다. 다시 시도하세요.',
  'error.generic': (v) => `허브가 오류로 응답했습니다 (${v.status}).`,

  'unreachable.title': '허브를 찾는 중…',
  'unreachable.body': '허브가 응답하지 않습니다. 다시 시작하는 중일 수 있으며, 이 화면이 계속 시도합니다.',

  'health.title': '허브가 알림을 놓칠 수 있습니다',
  'health.advice': '이 메시지가 사라질 때까지 아기를 직접 확인하세요. 허브를 다시 시작하면 나아질 수 있습니다.',
  'health.ingestStopped': '허브가 요람에서 데이터를 받지 못하고 있습니다.',
  'health.writesFailing': '허브가 데이터를 저장하지 못하고 있습니다.',
  'health.diskNearlyFull': '허브의 저장 공간이 거의 다 찼습니다.',
  'health.diskNearlyFullLeft': (v) => `허브의 저장 공간이 거의 다 찼습니다 (${v.left} 남음).`,
  'health.diskFull': '허브의 저장 공간이 가득 찼습니다. 새 측정값과 녹화가 저장되지 않습니다.',
  'health.dbUnreadable': '허브가 저장된 데이터를 읽지 못하고 있습니다.',
  'health.writerStopped': '허브의 데이터 저장 기능이 멈췄습니다.',
  'health.mqtt': '허브가 지금 요람과 통신할 수 없습니다.',
  'health.alertTickerStopped': '허브의 알림 확인 기능이 멈췄습니다.',
  'health.motorStopped': '허브의 흔들기 제어 기능이 멈췄습니다.',
  'health.maintenanceStopped': '허브의 오래된 데이터 정리 기능이 멈췄습니다.',
  'health.sessionsStopped': '허브의 오래된 로그인 정리 기능이 멈췄습니다.',
  'health.taskStopped': (v) => `허브의 일부 기능이 멈췄습니다 (${v.name}).`,
  'health.unknown': '허브가 스스로 문제를 보고했습니다.',
  'health.other': (v) => `허브가 문제를 보고했습니다: ${v.problem}`,

  'auth.loginTitle': '로그인',
  'auth.signupTitle': '계정 만들기',
  'auth.tagline': '집 네트워크 안에서 요람을 지켜보고, 흔들고, 알림을 받으세요.',
  'auth.username': '사용자 이름',
  'auth.password': '비밀번호',
  'auth.usernameHint': '최대 64자.',
  'auth.usernameInvalid': '앞뒤에 공백 없이 64자 이하로 입력하세요.',
  'auth.passwordHint': '4자 이상.',
  'auth.checking': '확인 중…',
  'auth.available': '✓ 사용할 수 있는 이름입니다.',
  'auth.taken': '이미 사용 중인 이름입니다.',
  'auth.showPassword': '비밀번호 보기',
  'auth.login': '로그인',
  'auth.createAccount': '계정 만들기',
  'auth.noAccount': '처음이신가요?',
  'auth.haveAccount': '이미 계정이 있으신가요?',
  'auth.needUsername': '사용자 이름을 입력하세요.',
  'auth.needPassword': '비밀번호를 입력하세요.',
  'auth.signedOut': '이 기기에서 로그아웃되었습니다.',
  'auth.signedOutWhy': '다른 기기에서 이 기기를 로그아웃했거나, 계정 비밀번호가 바뀌었거나, 오랫동안 사용하지 않았습니다. 계속하려면 다시 로그인하세요.',

  'welcome.title': '첫 요람을 추가하세요',
  'welcome.body': '아직 계정에 요람이 없습니다. 1분이면 됩니다:',
  'welcome.step1': '요람을 켜고 허브와 같은 Wi-Fi에 연결하세요.',
  'welcome.step2': '요람의 화면이나 라벨에서 QR 코드를 찾으세요.',
  'welcome.step3': '카메라로 스캔하거나, 사진을 찍거나, 아래에 적힌 ID를 입력하세요.',
  'welcome.add': '요람 추가',

  'add.title': '요람 추가',
  'add.intro': '모든 요람에는 ID가 담긴 QR 코드가 있습니다. 가장 편한 방법을 고르세요.',
  'add.cameraTitle': '카메라로 스캔',
  'add.cameraBody': '카메라를 QR 코드에 대고 움직이지 마세요.',
  'add.cameraNeedsSecure': '실시간 스캔은 보안(https) 페이지나 이 컴퓨터 주소에서만 됩니다. 대신 사진을 찍으세요 — 어디서나 됩니다.',
  'add.cameraView': '카메라 화면',
  'add.startCamera': '카메라 켜기',
  'add.stopCamera': '카메라 끄기',
  'add.looking': 'QR 코드를 찾는 중…',
  'add.noCamera': '카메라를 열 수 없습니다. 사진을 찍거나 ID를 입력하세요.',
  'add.cameraDenied': '이 페이지의 카메라가 차단되어 있습니다. 브라우저에서 허용하거나 사진을 찍으세요.',
  'add.photoTitle': '사진 찍기 또는 올리기',
  'add.photoBody': 'QR 코드를 가까이, 밝은 곳에서 선명하게 찍으세요.',
  'add.choosePhoto': '사진 찍기 또는 선택',
  'add.photoAlt': '선택한 사진',
  'add.reading': '사진을 읽는 중…',
  'add.noQr': '이 사진에서 QR 코드를 찾지 못했습니다. 더 가까이, 더 밝은 곳에서 다시 찍어 보세요.',
  'add.notImage': '읽을 수 있는 사진이 아닙니다. JPEG 또는 PNG 사진을 사용하세요.',
  'add.idTitle': 'ID 입력',
  'add.idLabel': '요람 ID',
  'add.idHint': 'QR 코드 아래에 적혀 있습니다. 예: cradle-1234',
  'add.needId': '요람 ID를 입력하세요.',
  'add.addButton': '요람 추가',
  'add.found': (v) => `요람 “${v.id}”을(를) 찾았습니다.`,
  'add.adding': (v) => `요람 “${v.id}” 추가 중…`,
  'add.unknown': (v) =>
    `허브가 요람 “${v.id}”의 신호를 받은 적이 없습니다. 요람이 켜져 있고 같은 Wi-Fi에 있는지 확인한 뒤 잠시 후 다시 시도하세요.`,
  'add.taken': (v) => `요람 “${v.id}”은(는) 이미 다른 계정에 등록되어 있습니다. 먼저 소유자가 삭제해야 합니다.`,

  'live.title': '요람',
  'live.readings': '측정값',
  'live.pillLive': '실시간',
  'live.pillSilent': '응답 없음',
  'live.pillWaiting': '대기 중',
  'live.pillNoHub': '연결 끊김',
  'live.announceSilent': '요람의 응답이 멈췄습니다.',
  'live.announceLive': '요람이 다시 응답합니다.',
  'live.noHubSince': (v) => `허브와 연결이 끊겼습니다 — 다시 연결 중… 마지막 수신 ${v.ago}.`,
  'live.pictureAlt': (v) => `${v.name}의 실시간 화면`,
  'live.waiting': '요람의 첫 측정값을 기다리는 중…',
  'live.silentSince': (v) => `${v.time}부터 요람 응답 없음 (${v.ago}). 전원과 Wi-Fi를 확인하세요.`,
  'live.noPicture': '아직 카메라 화면이 없습니다.',
  'live.pictureStopped': (v) => `화면이 ${v.ago}에 멈췄습니다.`,
  'live.rockingBadge': '흔드는 중',
  'live.startRocking': '흔들기 시작',
  'live.stopRocking': '흔들기 멈추기',
  'live.rockingNow': '요람이 흔들리고 있습니다',
  'live.notRocking': '요람이 멈춰 있습니다',
  'live.rockHint': '요람을 부드럽게 흔듭니다',
  'live.sending': '보내는 중…',
  'live.temperature': '온도',
  'live.crying': '울음',
  'live.face': '얼굴',
  'live.lastReading': '마지막 수신',
  'live.measured': (v) => `${v.ago} 측정`,
  'live.heard': (v) => `${v.ago} 확인`,
  'live.frontalNow': '지금 정면을 보고 있어요',
  'live.lastKnown': (v) => `마지막 확인: ${v.ago}`,
  'live.notFrontalFor': (v) => `${v.d} 동안 정면이 아님`,
  'live.neverFrontal': '아직 정면이 확인되지 않았어요',
  'live.noData': '아직 받은 정보가 없습니다',
  'live.openAlerts': (v) => `⚠ 알림 ${v.n}개`,

  'live.pillOffline': '요람 연결 끊김',
  'live.offlineSince': (v) => `${v.since}부터 요람 연결 끊김 — 마지막 수신 ${v.seen}`,
  'live.offlineSeen': (v) => `요람 연결 끊김 — 마지막 수신 ${v.seen}`,
  'live.offlineNever': '요람 연결 끊김',
  'live.offlineAt': (v) => `${v.since}부터 요람 연결 끊김`,
  'live.offlineFor': (v) => `${v.d}째 연결이 끊겨 있습니다.`,
  'live.offlineOverlay': (v) => `연결 끊김 — ${v.time} 이후 새 화면 없음`,
  'live.offlineNoPicture': '연결 끊김 — 화면 없음',
  'live.announceOffline': '요람 연결이 끊겼습니다.',
  'live.rockOffline': '요람 연결이 끊겨 흔들 수 없습니다',
  'live.toPassword': '비밀번호 설정',
  'live.stopsIn': (v) => `${v.t} 후 자동으로 멈춥니다`,
  'live.byYou': '내가 시작함',
  'live.byUser': (v) => `${v.name} 님이 시작함`,
  'live.byParent': '앱에서 시작함',
  'live.bySoothing': '울음 달래기가 시작함',
  'live.retryIn': (v) => `${v.s}초 후에 다시 시도할 수 있습니다.`,

  'motor.title': '모터 기록',
  'motor.hint': '이 요람 모터의 모든 시작과 멈춤, 최신순.',
  'motor.empty': '아직 모터 명령이 없습니다.',
  'motor.start': '흔들기 시작',
  'motor.stop': '흔들기 멈춤',
  'motor.startTried': '흔들기 시작 시도',
  'motor.stopTried': '흔들기 멈춤 시도',
  'motor.byYou': '나',
  'motor.byUser': (v) => `${v.name} 님`,
  'motor.byParent': '앱에서',
  'motor.bySoothing': '울음 달래기',
  'motor.byAutomatic': '허브 (자동 멈춤)',
  'motor.refused': '거부됨: 명령이 너무 많거나 멈춘 직후임',
  'motor.notConnected': '보내지 못함: 요람이 연결되어 있지 않았음',
  'motor.notSent': '보내지 못함',
  'motor.loadError': '모터 기록을 불러오지 못했습니다.',

  'reason.disconnect': '요람이 스스로 연결을 끊었습니다. 꺼졌거나 다시 시작하는 중입니다.',
  'reason.keepalive_expired': '요람이 응답하지 않습니다. 전원이나 Wi-Fi가 끊겼을 수 있습니다.',
  'reason.socket_closed': '요람과의 연결이 끊어졌습니다. 전원과 Wi-Fi를 확인하세요.',
  'reason.socket_error': '네트워크 오류로 연결이 끊어졌습니다. 요람의 Wi-Fi를 확인하세요.',
  'reason.write_stalled': '요람이 메시지를 받지 못하고 있습니다. Wi-Fi 신호가 약할 수 있습니다.',
  'reason.takeover': '다른 기기가 이 요람의 ID로 연결해 요람을 대신했습니다.',
  'reason.protocol_error': '요람이 허브가 읽을 수 없는 데이터를 보냈습니다. 요람을 다시 시작해 보세요.',
  'reason.password_required': '요람이 올바른 비밀번호를 보내지 않았습니다. 요람에 비밀번호를 입력하거나, 설정에서 비밀번호를 끄세요.',
  'reason.connect_refused': '허브가 요람의 연결을 거부했습니다.',
  'reason.store_failure': '허브가 요람의 측정값을 저장하지 못해 연결을 닫았습니다.',
  'reason.hub_shutdown': '허브가 다시 시작하는 중이었습니다.',
  'reason.none': '1분 넘게 아무것도 받지 못했습니다. 전원과 Wi-Fi를 확인하세요.',
  'reason.other': '연결이 끊어졌습니다. 전원과 Wi-Fi를 확인하세요.',

  'presence.online': '연결됨',
  'presence.offline': '연결 끊김',
  'presence.never': '아직 연결 안 됨',
  'presence.offlineSince': (v) => `${v.time}부터 연결 끊김`,
  'presence.headerOne': '요람 연결 끊김',
  'presence.headerMany': (v) => `요람 ${v.n}대 연결 끊김`,
  'presence.passwordOn': '비밀번호 사용',

  'cradle.switch': '요람 선택',
  'cry.crying': '울고 있어요',
  'cry.calm': '조용해요',
  'dir.frontal': '정면',
  'dir.left': '왼쪽으로 돌림',
  'dir.right': '오른쪽으로 돌림',
  'dir.no_face': '얼굴이 안 보임',
  'dir.detector_error': '인식 오류',
  'dir.checking': '확인 중…',
  'dir.other': '알 수 없는 자세',

  'time.ago': (v) => `${v.d} 전`,
  'time.justNow': '방금',
  'time.today': (v) => `오늘 ${v.time}`,
  'time.yesterday': (v) => `어제 ${v.time}`,
  'dur.s': (v) => `${v.s}초`,
  'dur.m': (v) => `${v.m}분`,
  'dur.ms': (v) => `${v.m}분 ${v.s}초`,
  'dur.hm': (v) => `${v.h}시간 ${v.m}분`,
  'unit.seconds': '초',
  'unit.minutes': '분',

  'alertType.high_temperature': '고온',
  'alertType.crying': '울음',
  'alertType.abnormal_position': '얼굴 방향 이상',
  'alertType.face_not_detected': '얼굴 인식 안됨',
  'alertType.cradle_offline': '요람 연결 끊김',
  'alertType.camera_silent': '카메라 영상 없음',
  'alertType.sensor_fault': '온도 센서 이상',
  'alertType.other': '알림',
  'alertMsg.high_temperature': (v) => `온도가 ${v.t}에 도달했습니다.`,
  'alertMsg.crying': '아기가 한동안 울고 있습니다.',
  'alertMsg.abnormal_position': '아기 얼굴이 한동안 정면이 아닙니다.',
  'alertMsg.face_not_detected': '아기 얼굴이 한동안 인식되지 않습니다.',
  'alertMsg.cradle_offline': '요람 연결이 끊겼습니다: 한동안 응답이 없습니다.',
  'alertMsg.camera_silent': '센서는 동작하지만 카메라 영상이 없습니다.',
  'alertMsg.sensor_fault': '다른 측정값은 오지만 온도 값이 없거나 올바르지 않습니다.',
  'alertMsg.soothingFailed': '한동안 흔들어 주었지만 아직 울고 있습니다.',

  'alerts.title': '알림',
  'alerts.alert': '알림',
  'alerts.last24h': '최근 24시간, 확인하지 않은 알림이 먼저 나옵니다.',
  'alerts.unresolvedN': (v) => `확인하지 않은 알림 ${v.n}개`,
  'alerts.allClear': '모두 확인했습니다 — 살펴볼 알림이 없습니다.',
  'alerts.none': '최근 24시간 동안 알림이 없습니다.',
  'alerts.open': '확인 안 함',
  'alerts.resolved': '확인함',
  'alerts.resolvedAt': (v) => `${v.time} 확인함`,
  'alerts.resolve': '확인 완료로 표시',
  'alerts.resolvedOk': '확인 완료로 표시했습니다.',
  'alerts.view': '보기',
  'alerts.critical': '긴급',
  'alerts.reminder': '아직 확인 안 함',
  'alerts.reminderToast': '다시 알림 — 아직 확인하지 않았습니다',
  'alerts.back': '모든 알림',
  'alerts.clip': '녹화 영상',
  'alerts.clipLabel': '알림 전후에 녹화된 영상',
  'alerts.noClip': '이 알림에는 녹화된 영상이 없습니다.',
  'alerts.clipSoon': '녹화를 시작하는 중입니다. 잠시 후 다시 불러오세요.',
  'alerts.clipError': '영상을 재생할 수 없습니다.',
  'alerts.reloadClip': '전체 영상 불러오기',
  'alerts.recordingUntil': (v) => `${v.time}까지 녹화 중입니다. 끝나면 전체 영상을 자동으로 불러옵니다.`,
  'alerts.clipFrames': (v) => `${v.d} 동안 ${v.n}프레임.`,
  'alerts.readings': '알림 전후의 측정값',
  'alerts.readingsTable': '5초마다의 측정값',
  'alerts.colTime': '시각',
  'alerts.notFound': '이 알림은 더 이상 없습니다.',

  'chart.temperature': '온도',
  'chart.threshold': '알림 기준',
  'chart.crying': '울음',
  'chart.turned': '고개 돌림',
  'chart.noDataShort': '정보 없음',
  'chart.cryShort': '울음',
  'chart.faceShort': '얼굴',
  'chart.noData': '이 기간에는 측정값이 없습니다.',
  'chart.limit': (v) => `기준 ${v.t}`,
  'chart.summary': (v) => `온도 그래프: ${v.min}에서 ${v.max} 사이.`,

  'history.title': '기록',
  'history.today': '오늘',
  'history.pickDay': '날짜',
  'history.prevDay': '전날',
  'history.nextDay': '다음 날',
  'history.readings': '온도, 울음, 얼굴',
  'history.zoom': '시간 범위',
  'history.zoomData': '기록된 시간',
  'history.zoomDay': '하루 전체',
  'history.loading': (v) => `측정값 불러오는 중… ${v.total}시간 중 ${v.done}시간`,
  'history.noReadings': '이 날에는 측정값이 없습니다.',
  'history.lowest': '최저',
  'history.highest': '최고',
  'history.cryingTime': '울음',
  'history.awayTime': '고개 돌림',
  'history.recordings': '녹화 영상',
  'history.recordingsHint': '알림 전후로 녹화된 분 단위 영상입니다. 눌러서 재생하세요.',
  'history.noRecordings': '이 날에는 녹화 영상이 없습니다.',
  'history.recordingAt': (v) => `${v.time} 녹화, ${v.n}프레임`,
  'history.playing': (v) => `${v.time}부터 1분 재생 중.`,
  'history.videoError': '이 영상을 재생할 수 없습니다.',

  'settings.title': '설정',
  'settings.alertsFor': (v) => `${v.name} 알림`,
  'settings.maxTemp': '이 온도보다 높으면 알림',
  'settings.maxTempHint': '30~45 °C. 기본값은 38 °C입니다.',
  'settings.cryFor': '울음이 이만큼 계속되면 알림',
  'settings.cryForHint': '계속 우는 시간(초). 0이면 바로 알림.',
  'settings.awayFor': '얼굴이 돌아가 있거나 안 보이면 알림',
  'settings.awayForHint': '초 단위 (0이면 바로 알림).',
  'settings.push': '푸시 알림',
  'settings.pushHint': '이 허브를 보고 있는 화면과 휴대폰에 알립니다.',
  'settings.email': '이메일 알림',
  'settings.emailHint': '허브에 이메일 발송이 설정된 경우에만.',
  'settings.groupBaby': '아기',
  'settings.groupOffline': '요람 연결 끊김',
  'settings.offlineAlert': '요람 연결이 끊기면 알림',
  'settings.offlineAlertHint': '전원이나 Wi-Fi가 끊겼거나 응답하지 않을 때.',
  'settings.offlineAfter': '연결이 이만큼 끊겨 있으면 알림',
  'settings.offlineAfterHint': '10~3600초. 기본값은 60초입니다.',
  'settings.groupCamera': '카메라',
  'settings.cameraAlert': '카메라가 멈추면 알림',
  'settings.cameraAlertHint': '요람 센서는 동작하는데 영상이 없을 때.',
  'settings.cameraAfter': '영상이 이만큼 없으면 알림',
  'settings.cameraAfterHint': '10~3600초. 기본값은 60초입니다.',
  'settings.groupThermometer': '온도 센서',
  'settings.sensorAlert': '온도 센서에 이상이 있으면 알림',
  'settings.sensorAlertHint': '다른 측정값은 오는데 5분 동안 쓸 수 있는 온도 값이 없을 때.',
  'settings.groupMotor': '모터와 달래기',
  'settings.maxRock': '흔들기가 자동으로 멈추는 시간',
  'settings.maxRockHint': '1~60분. 기본값은 15분입니다.',
  'settings.soothing': '아기가 울면 자동으로 흔들기',
  'settings.soothingHint': '1분 동안 조용하면 멈춥니다. 직접 시작하거나 멈추면 10분 동안 쉽니다.',
  'settings.sootheAfter': '울음이 이만큼 계속되면 흔들기 시작',
  'settings.sootheAfterHint': '5~600초. 기본값은 20초입니다.',
  'settings.sootheMinutes': '최대 흔드는 시간',
  'settings.sootheMinutesHint': '1~60분. 기본값은 5분입니다. 그래도 울면 긴급 알림을 보냅니다.',
  'settings.groupNotify': '알림 방법',
  'settings.rangeSeconds': (v) => `${v.min}~${v.max} 사이의 정수(초)를 입력하세요.`,
  'settings.rangeMinutes': (v) => `${v.min}~${v.max} 사이의 정수(분)를 입력하세요.`,
  'settings.save': '저장',
  'settings.saved': '저장했습니다.',
  'settings.tempRange': '30~45 °C 사이의 온도를 입력하세요.',
  'settings.secondsRange': '0~86400 사이의 정수(초)를 입력하세요.',
  'settings.language': '언어',
  'settings.thisDevice': '이 기기의 알림',
  'settings.allowNotify': '알림 허용',
  'settings.notifyHint': '이 페이지가 백그라운드에 열려 있을 때 알림을 시스템 알림으로 받습니다.',
  'settings.notifyOn': '이 브라우저에서 알림이 켜져 있습니다.',
  'settings.notifyDenied': '이 브라우저 설정에서 알림이 차단되어 있습니다.',
  'settings.notifyUnsupported': '이 브라우저는 알림을 표시할 수 없습니다.',
  'settings.hubTitle': '휴대폰에서 열기',
  'settings.hubHint': '같은 Wi-Fi의 휴대폰으로 이 코드를 스캔하면 허브가 열립니다.',
  'settings.hubLoopback': '이 허브는 이 컴퓨터에서만 접속됩니다. 같은 Wi-Fi의 휴대폰에서 쓰려면 다음 옵션으로 시작하세요:',
  'settings.hubQrAlt': '허브 주소의 QR 코드',
  'settings.hubCa': '휴대폰에서 처음인가요? 허브 인증서를 먼저 설치하세요',
  'settings.hubQrAltUrl': (v) => `허브 주소 ${v.url}의 QR 코드`,
  'settings.version': (v) => `Cradle Hub ${v.v}`,
  'settings.cradles': '내 요람',
  'settings.noCradles': '아직 요람이 없습니다.',
  'settings.addCradle': '요람 추가',
  'settings.remove': '삭제',
  'settings.removeNamed': (v) => `${v.name} 삭제`,
  'settings.removeConfirm': (v) => `${v.name}을(를) 삭제할까요? 측정값, 녹화 영상, 알림, 설정이 모두 지워집니다.`,
  'settings.removeYes': '네, 삭제합니다',
  'settings.removed': (v) => `${v.name}을(를) 삭제했습니다.`,
  'settings.account': '계정',
  'settings.loggedInAs': (v) => `${v.name}(으)로 로그인했습니다.`,
  'settings.logout': '로그아웃',

  'devices.title': '로그인된 기기',
  'devices.intro': '이 계정으로 로그인된 휴대폰과 컴퓨터입니다. 모르는 기기나 더 이상 쓰지 않는 기기는 로그아웃하세요.',
  'devices.loadError': '기기 목록을 불러오지 못했습니다.',
  'devices.onlyThis': '이 기기에만 로그인되어 있습니다.',
  'devices.thisDevice': '이 기기',
  'devices.signOut': '로그아웃',
  'devices.signOutNamed': (v) => `${v.name} 로그아웃`,
  'devices.signedOutOne': (v) => `${v.name}에서 로그아웃했습니다.`,
  'devices.gone': '그 기기는 이미 로그아웃되었습니다.',
  'devices.signOutOthers': '다른 모든 기기에서 로그아웃',
  'devices.othersConfirm': (v) =>
    `다른 기기 ${v.n}대에서 로그아웃할까요? 다시 로그인하려면 비밀번호가 필요합니다. 이 기기는 로그인 상태로 남습니다.`,
  'devices.othersYes': '예, 로그아웃',
  'devices.othersDone': (v) =>
    Number(v.n) === 0 ? '로그인된 다른 기기가 없었습니다.' : `다른 기기 ${v.n}대에서 로그아웃했습니다.`,
  'devices.signedIn': (v) => `로그인: ${v.when}`,
  'devices.lastActive': (v) => `마지막 사용: ${v.when}`,
  'devices.from': (v) => `IP ${v.ip}`,
  'devices.unknown': '알 수 없는 기기',
  'devices.on': (v) => `${v.os}의 ${v.browser}`,
  'devices.browser': '브라우저',
  'devices.app': 'Cradle Hub 앱',

  'account.pwTitle': '비밀번호 변경',
  'account.pwIntro': '비밀번호를 바꾸면 다른 모든 기기가 로그아웃되고, 이 기기는 로그인 상태로 남습니다.',
  'account.current': '현재 비밀번호',
  'account.new': '새 비밀번호',
  'account.newHint': '4자 이상.',
  'account.repeat': '새 비밀번호 다시 입력',
  'account.show': '비밀번호 보기',
  'account.pwSave': '비밀번호 변경',
  'account.needCurrent': '현재 비밀번호를 입력하세요.',
  'account.tooShort': '새 비밀번호는 4자 이상이어야 합니다.',
  'account.mismatch': '두 새 비밀번호가 서로 다릅니다.',
  'account.wrongCurrent': '현재 비밀번호가 맞지 않습니다.',
  'account.pwChanged': '비밀번호를 바꿨습니다. 다른 모든 기기는 로그아웃되었고, 이 기기는 로그인 상태로 남습니다.',

  'pw.title': (v) => `${v.name} 연결 비밀번호`,
  'pw.switch': '이 요람에 비밀번호 요구',
  'pw.hintOff': '꺼짐: 요람이 비밀번호 없이 연결합니다 (현재 펌웨어 방식).',
  'pw.hintOn': (v) => `켜짐: 요람이 연결할 때 사용자 이름(${v.user})과 비밀번호가 필요합니다.`,
  'pw.warning': '요람 펌웨어가 사용자 이름과 비밀번호를 보낼 수 있을 때만 켜세요. 그렇지 않으면 요람이 더 이상 연결되지 않습니다.',
  'pw.confirmOn': '비밀번호를 요구할까요? 요람 연결이 바로 끊기고, 다음에 표시되는 비밀번호로만 다시 연결할 수 있습니다.',
  'pw.yesOn': '네, 비밀번호를 요구합니다',
  'pw.generate': '새 비밀번호 만들기',
  'pw.confirmNew': '새 비밀번호를 만들까요? 지금 비밀번호는 바로 쓸 수 없게 되어, 새 비밀번호를 요람에 입력할 때까지 연결이 끊깁니다.',
  'pw.yesNew': '네, 새로 만듭니다',
  'pw.saving': '저장 중…',
  'pw.onceTitle': '지금 요람에 입력하세요',
  'pw.username': '사용자 이름',
  'pw.password': '비밀번호',
  'pw.once': '이 비밀번호는 한 번만 표시됩니다. 잊어버리면 새 비밀번호를 만드세요.',
  'pw.copy': '복사',
  'pw.copied': '복사됨 ✓',
  'pw.copyUsername': '사용자 이름 복사',
  'pw.copyPassword': '비밀번호 복사',
  'pw.copyFailed': '복사하지 못했습니다. 글자를 직접 선택해 복사하세요.',
  'pw.hide': '입력했어요, 숨기기',
};

/** @typedef {'en'|'ko'} Lang */
/** @type {Record<Lang, Record<Key, Entry>>} */
const dictionaries = { en, ko };
const STORAGE_KEY = 'cradle-hub.lang';

/** @type {Lang} */
let lang = 'en';
/** @type {Set<() => void>} */
const listeners = new Set();

/** @param {unknown} v @returns {v is Lang} */
function isLang(v) {
  return v === 'en' || v === 'ko';
}

/** Picks the saved language, else the browser's, else English. */
export function initLang() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage may be blocked (private mode): the browser's language it is.
  }
  if (isLang(saved)) lang = saved;
  else {
    const preferred = (navigator.languages ?? [navigator.language]).map((l) => l.slice(0, 2).toLowerCase());
    lang = preferred.find(isLang) ?? 'en';
  }
  document.documentElement.lang = lang;
}

/** @returns {Lang} */
export function getLang() {
  return lang;
}

/** Switches language, remembers it, and re-renders (listeners). @param {Lang} next */
export function setLang(next) {
  if (next === lang) return;
  lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not persisted; still switched for this visit.
  }
  document.documentElement.lang = next;
  for (const fn of listeners) fn();
}

/** @param {() => void} fn */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * A UI string in the current language.
 * @param {Key} key
 * @param {Vars} [vars]
 * @returns {string}
 */
export function t(key, vars = {}) {
  const entry = dictionaries[lang][key] ?? en[key];
  return typeof entry === 'function' ? entry(vars) : entry;
}
