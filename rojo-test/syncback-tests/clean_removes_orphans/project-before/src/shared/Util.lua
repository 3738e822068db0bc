return 'lua'
