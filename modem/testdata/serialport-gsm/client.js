// Drives a virtual modem with serialport-gsm as an SMS gateway built on it
// does: open the port, initialise, PDU mode, new-message indications
// (AT+CNMI), an SMS to 000, then the first SMS that arrives (+CMTI, then
// AT+CMGR). Each step is one JSON line on stdout; the Go test
// (modem TestPTYSerialportGSM) reads them and answers through the REST API.
//
//   node client.js <pty> <text to send>
'use strict'

const serialportgsm = require('serialport-gsm')

const [, , path, text] = process.argv
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (step, why) => {
  out({ event: 'error', step, error: why instanceof Error ? why.message : why })
  process.exit(1)
}
// ok is true for a serialport-gsm callback that reports success.
const ok = (res, err) => !err && res && res.status === 'success'

const modem = serialportgsm.Modem()
modem.on('error', (e) => fail('port', e))
// The first SMS that arrives ends the run.
modem.on('onNewMessage', (messages) => {
  for (const m of messages) {
    out({ event: 'message', sender: m.sender, message: m.message, index: m.index })
  }
  process.exit(0)
})

modem.on('open', () => {
  modem.initializeModem((res, err) => {
    if (!ok(res, err)) return fail('initializeModem', err || res)
    out({ event: 'initialized' })
    modem.setModemMode((res, err) => {
      if (!ok(res, err)) return fail('setModemMode', err || res)
      modem.enableCNMI((res, err) => {
        if (!ok(res, err)) return fail('enableCNMI', err || res)
        out({ event: 'cnmi' })
        modem.sendSMS('000', text, false, (res, err) => {
          if (err || !res || res.status !== 'success') return fail('sendSMS', err || res)
          out({ event: 'sent', response: res.data.response })
        })
      })
    }, 'PDU')
  })
})

modem.open(path, {
  baudRate: 115200,
  autoDeleteOnReceive: true,
  incomingSMSIndication: true,
  cnmiCommand: 'AT+CNMI=2,1,0,2,1',
  logger: { debug: (s) => process.stderr.write(s + '\n') }
}, (err) => {
  if (err) fail('open', err)
})
